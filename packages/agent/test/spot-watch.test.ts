import { afterEach, describe, expect, it } from "vitest";
import {
  drainOnSpotNotice,
  parseSpotNotice,
  type SpotNotice,
  watchSpotInterruption,
} from "../src/spot-watch.ts";
import { type FakeImds, startFakeImds } from "./fake-imds.ts";

const imdss: FakeImds[] = [];
afterEach(async () => {
  for (const i of imdss.splice(0)) await i.close();
});
async function imds() {
  const i = await startFakeImds();
  imdss.push(i);
  return i;
}
const until = async (check: () => boolean) => {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe("spot interruption watch", () => {
  it("polls with an IMDSv2 token, ignores 'no notice', and reports the notice once", async () => {
    const fake = await imds();
    const notices: SpotNotice[] = [];
    const errors: Error[] = [];
    const stop = new AbortController();
    const watch = watchSpotInterruption({
      endpoint: fake.endpoint,
      everyMs: 20,
      signal: stop.signal,
      onNotice: (n) => notices.push(n),
      onError: (e) => errors.push(e),
    });
    await until(() => fake.requests.filter((r) => r.startsWith("GET")).length >= 3);
    expect(notices).toEqual([]);
    fake.spotNotice = JSON.stringify({ action: "terminate", time: "2026-11-24T08:22:00Z" });
    await watch; // returns after the notice
    expect(notices).toEqual([{ action: "terminate", at: Date.parse("2026-11-24T08:22:00Z") }]);
    expect(errors).toEqual([]);
    expect(fake.requests).toContain("PUT /latest/api/token");
  });

  it("reports an unreachable metadata service and keeps watching until stopped", async () => {
    const fake = await imds();
    const endpoint = fake.endpoint;
    await fake.close();
    imdss.splice(0);
    const errors: Error[] = [];
    const stop = new AbortController();
    const watch = watchSpotInterruption({
      endpoint,
      everyMs: 20,
      signal: stop.signal,
      onNotice: () => {},
      onError: (e) => errors.push(e),
    });
    await until(() => errors.length >= 2);
    stop.abort();
    await watch;
  });

  it("drains the agent with the time the notice leaves, less the margin", async () => {
    const fake = await imds();
    const stops: Array<{ graceMs?: number }> = [];
    const now = Date.parse("2026-11-24T08:20:00Z");
    fake.spotNotice = JSON.stringify({ action: "terminate", time: "2026-11-24T08:22:00Z" });
    const end = drainOnSpotNotice(
      { stop: async (o = {}) => void stops.push(o) },
      { endpoint: fake.endpoint, everyMs: 20, marginMs: 20_000, now: () => now },
    );
    await until(() => stops.length > 0);
    end();
    expect(stops).toEqual([{ graceMs: 100_000 }]);
  });

  it("reads notices and rejects what is not one", () => {
    expect(parseSpotNotice('{"action":"stop","time":"2026-11-24T08:22:00Z"}')).toEqual({
      action: "stop",
      at: Date.parse("2026-11-24T08:22:00Z"),
    });
    expect(parseSpotNotice("not json")).toBeUndefined();
    expect(parseSpotNotice('{"action":"terminate"}')).toBeUndefined();
  });
});
