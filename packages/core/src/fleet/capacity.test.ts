import { describe, expect, it } from "vitest";
import {
  type CapacityApi,
  CapacityLauncher,
  type CapacityRequest,
  type CapacityResponse,
  errorCode,
} from "./capacity.ts";

/** A provider that answers from a script and records every request. */
function provider(answer: (r: CapacityRequest, n: number) => CapacityResponse | Error) {
  const requests: CapacityRequest[] = [];
  const api: CapacityApi = {
    request: async (r) => {
      requests.push(structuredClone(r));
      const a = answer(r, requests.length);
      if (a instanceof Error) throw a;
      return a;
    },
  };
  return { api, requests };
}
const instances = (n: number, zone = "a", instanceType = "c7g.xlarge") =>
  Array.from({ length: n }, (_, i) => ({ id: `i-${zone}${instanceType}${i}`, zone, instanceType }));
const short = (zone: string, instanceType?: string) => ({
  code: "InsufficientInstanceCapacity",
  message: "no capacity",
  zone,
  instanceType,
});
const awsError = (name: string) => Object.assign(new Error(name), { name });

describe("capacity launcher", () => {
  it("asks spot first and on-demand for what spot could not give", async () => {
    const { api, requests } = provider((r) =>
      r.market === "spot"
        ? { instances: instances(2), errors: [short("a", "c7g.xlarge")] }
        : { instances: instances(3, "b", "m7g.xlarge"), errors: [] },
    );
    const launcher = new CapacityLauncher({ api, zones: ["a", "b"], spot: true, now: () => 0 });
    const report = await launcher.launch(5);
    expect(report.launched).toHaveLength(5);
    expect(requests.map((r) => [r.market, r.count])).toEqual([
      ["spot", 5],
      ["on-demand", 3],
    ]);
    expect(report.errors).toEqual([
      expect.objectContaining({ code: "InsufficientInstanceCapacity", retryable: true }),
    ]);
  });

  it("leaves a failed type and zone out until its cooling ends, doubling on repeats", async () => {
    let now = 0;
    const { api, requests } = provider((r) => ({
      instances: [],
      errors: [short("a", "c7g.xlarge"), short("b")].filter((e) => r.zones.includes(e.zone)),
    }));
    const launcher = new CapacityLauncher({ api, zones: ["a", "b", "c"], spot: false, now: () => now });
    await launcher.launch(1);
    expect(requests[0]).toMatchObject({ zones: ["a", "b", "c"], excludedTypes: { a: [], b: [], c: [] } });
    now = 30_000;
    await launcher.launch(1);
    // Widened: the type that failed in zone a is excluded there, zone b (all types) is out.
    expect(requests[1]).toMatchObject({ zones: ["a", "c"], excludedTypes: { a: ["c7g.xlarge"], c: [] } });
    now = 61_000; // first cooling (60 s) over: tried again, fails again, now cools for 120 s
    await launcher.launch(1);
    expect(requests[2]!.zones).toEqual(["a", "b", "c"]);
    now = 150_000;
    await launcher.launch(1);
    expect(requests[3]).toMatchObject({ zones: ["a", "c"], excludedTypes: { a: ["c7g.xlarge"] } });
    expect(launcher.cooling().sort()).toEqual(["on-demand|a|c7g.xlarge", "on-demand|b|*"]);
  });

  it("forgets a pool's failures once it gives capacity", async () => {
    let now = 0;
    let fail = true;
    const { api, requests } = provider(() =>
      fail ? { instances: [], errors: [short("a", "c7g.xlarge")] } : { instances: instances(1), errors: [] },
    );
    const launcher = new CapacityLauncher({ api, zones: ["a"], spot: false, now: () => now });
    await launcher.launch(1);
    now = 61_000;
    fail = false;
    await launcher.launch(1);
    await launcher.launch(1);
    expect(requests[2]!.excludedTypes).toEqual({ a: [] });
    expect(launcher.cooling()).toEqual([]);
  });

  it("stops the round on throttling and tries no other market", async () => {
    const { api, requests } = provider(() => awsError("RequestLimitExceeded"));
    const launcher = new CapacityLauncher({ api, zones: ["a"], spot: true, now: () => 0 });
    const report = await launcher.launch(4);
    expect(requests).toHaveLength(1);
    expect(report).toEqual({
      launched: [],
      errors: [expect.objectContaining({ code: "RequestLimitExceeded", retryable: true, market: "spot" })],
      placed: [],
    });
    expect(launcher.cooling()).toEqual([]); // throttling says nothing about capacity
  });

  it("cools every zone of a market when the whole request lacks capacity, then falls back", async () => {
    const { api, requests } = provider((r) =>
      r.market === "spot" ? awsError("InsufficientCapacity") : { instances: instances(2), errors: [] },
    );
    const launcher = new CapacityLauncher({ api, zones: ["a", "b"], spot: true, now: () => 0 });
    expect((await launcher.launch(2)).launched).toHaveLength(2);
    const again = await launcher.launch(2);
    // Spot is cooling everywhere: not asked, said so; on-demand serves.
    expect(requests.map((r) => r.market)).toEqual(["spot", "on-demand", "on-demand"]);
    expect(again.errors[0]).toMatchObject({ code: "NoCapacityPoolLeft", market: "spot", retryable: true });
  });

  it("reports a setup error as not retryable, without cooling anything, and still tries the other market", async () => {
    const { api, requests } = provider((r) =>
      r.market === "spot" ? awsError("UnauthorizedOperation") : { instances: instances(1), errors: [] },
    );
    const launcher = new CapacityLauncher({ api, zones: ["a"], spot: true, now: () => 0 });
    const report = await launcher.launch(1);
    expect(report.errors).toEqual([
      expect.objectContaining({ code: "UnauthorizedOperation", retryable: false, market: "spot" }),
    ]);
    expect(report.launched).toHaveLength(1); // on-demand was not blocked by spot's setup error
    expect(requests.map((r) => r.market)).toEqual(["spot", "on-demand"]);
    expect(launcher.cooling()).toEqual([]);
  });

  it("treats a service fault like throttling: no market is cooled for it", async () => {
    const { api, requests } = provider(() => awsError("ServiceUnavailable"));
    const launcher = new CapacityLauncher({ api, zones: ["a", "b"], spot: true, now: () => 0 });
    expect((await launcher.launch(1)).errors[0]).toMatchObject({
      code: "ServiceUnavailable",
      retryable: true,
    });
    expect(requests).toHaveLength(1);
    expect(launcher.cooling()).toEqual([]);
  });

  it("starts strikes over when a pool fails again long after its cooling ended", async () => {
    let now = 0;
    const { api, requests } = provider(() => ({ instances: [], errors: [short("a", "c7g.xlarge")] }));
    const launcher = new CapacityLauncher({ api, zones: ["a"], spot: false, now: () => now, coolMs: 60_000 });
    await launcher.launch(1); // strike 1: cooled until 60 s
    now = 61_000;
    await launcher.launch(1); // strike 2: cooled until 181 s
    now = 2_000_000; // long after that cooling ended
    await launcher.launch(1); // strike 1 again: cooled for 60 s, not 240 s
    now = 2_061_000;
    await launcher.launch(1);
    expect(requests.at(-1)!.excludedTypes).toEqual({ a: [] });
  });

  it("reads AWS SDK error codes", () => {
    expect(errorCode(awsError("InternalError"))).toBe("InternalError");
    expect(errorCode(Object.assign(new Error("x"), { Code: "Unavailable" }))).toBe("Unavailable");
    expect(errorCode(new Error("plain"))).toBe("Unknown");
    expect(errorCode("text")).toBe("Unknown");
  });
});
