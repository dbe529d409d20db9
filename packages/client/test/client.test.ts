/** The SDK against the local grid: real HTTP server, emulators, Lambda-style workers. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalGrid, loadConfig, startLocalGrid } from "@tessera/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TesseraError } from "../src/errors.ts";
import type { TaskResult } from "../src/result-stream.ts";
import { Tessera } from "../src/tessera.ts";

const repo = new URL("../../../", import.meta.url).pathname;
let grid: LocalGrid;
let tessera: Tessera;

beforeAll(async () => {
  grid = await startLocalGrid({
    ...loadConfig(repo, {}),
    dataDir: mkdtempSync(join(tmpdir(), "tessera-client-")),
    port: 0,
    sample: { tasks: 0, fleetTasks: 0 },
    agents: { count: 0, concurrency: 1 },
    lambda: { pollers: 1, timeoutSeconds: 30, concurrency: 16, threads: 2 },
  });
  tessera = new Tessera({ endpoint: grid.apiUrl, token: grid.token });
});
afterAll(() => grid?.stop());

async function collect<O>(stream: AsyncIterable<TaskResult<O>>): Promise<TaskResult<O>[]> {
  const out: TaskResult<O>[] = [];
  for await (const r of stream) out.push(r);
  return out;
}

describe("Tessera SDK on the local grid", () => {
  it("submits from an async iterable, streams every result once, and waits", async () => {
    const session = await tessera.createSession<{ n: number }, { n: number }>({ sessionId: "stream" });
    async function* inputs() {
      for (let n = 0; n < 250; n++) yield { n };
    }
    const progress: number[] = [];
    const summary = await session.submit(inputs(), {
      handler: "echo",
      batchSize: 40,
      concurrency: 2,
      close: true,
      onProgress: (n) => progress.push(n),
    });
    expect(summary).toEqual({ submitted: 250, created: 250, existing: 0 });
    expect(progress.at(-1)).toBe(250);
    const results = await collect(session.results({ minPollMs: 20 }));
    expect(results).toHaveLength(250);
    expect(new Set(results.map((r) => r.index)).size).toBe(250);
    for (const r of results) expect(r).toMatchObject({ status: "SUCCEEDED", output: { n: r.index } });
    const status = await session.wait({ minPollMs: 20 });
    expect(status.counts).toMatchObject({ total: 250, succeeded: 250 });
  });

  it("creates no duplicates when a submit's response is lost and the request is retried", async () => {
    let dropped = 0;
    const flaky: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (String(input).endsWith("/tasks") && init?.method === "POST" && dropped === 0) {
        dropped++;
        throw new TypeError("socket hang up"); // the grid stored the batch; the answer is lost
      }
      return response;
    };
    const client = new Tessera({ endpoint: grid.apiUrl, token: grid.token, fetch: flaky, retryBaseMs: 1 });
    const session = await client.createSession<number, number>({ sessionId: "dropped" });
    const summary = await session.submit([1, 2, 3, 4, 5], { handler: "echo", close: true });
    expect(dropped).toBe(1);
    expect(summary).toEqual({ submitted: 5, created: 0, existing: 5 });
    const results = await collect(session.results({ minPollMs: 20 }));
    expect(results.map((r) => r.index).sort()).toEqual([0, 1, 2, 3, 4]);
    expect((await session.status()).counts.total).toBe(5);
  });

  it("sends large payloads and receives large results through presigned links, transparently", async () => {
    const session = await tessera.createSession<string, string>({ sessionId: "large" });
    const big = "x".repeat(400 * 1024);
    await session.submit([big, "small"], { handler: "echo", close: true });
    const results = await collect(session.results({ minPollMs: 20 }));
    const byIndex = new Map(results.map((r) => [r.index, r]));
    expect(byIndex.get(0)).toMatchObject({ status: "SUCCEEDED", output: big });
    expect(byIndex.get(1)).toMatchObject({ status: "SUCCEEDED", output: "small" });
  });

  it("splits batches by their UTF-8 size, so multi-byte payloads never exceed the request limit", async () => {
    const session = await tessera.createSession<string, string>({ sessionId: "wide" });
    const wide = "漢".repeat(20_000); // 20,000 UTF-16 units, 60,000 UTF-8 bytes
    const summary = await session.submit(
      Array.from({ length: 100 }, () => wide),
      { handler: "echo", close: true },
    );
    expect(summary).toEqual({ submitted: 100, created: 100, existing: 0 });
    const results = await collect(session.results({ minPollMs: 20 }));
    expect(results).toHaveLength(100);
    expect(results.every((r) => r.status === "SUCCEEDED" && r.output === wide)).toBe(true);
  });

  it("cancels a session: its queued tasks come back CANCELLED", async () => {
    const session = await tessera.createSession({ sessionId: "cancel", config: { pool: "default" } });
    await session.submit(
      Array.from({ length: 20 }, (_, i) => i),
      { handler: "no-such-task" },
    );
    const report = await session.cancel();
    expect(report.session.state).toBe("CANCELLED");
    const results = await collect(session.results({ minPollMs: 20 }));
    expect(results).toHaveLength(20);
    expect(results.every((r) => r.status !== "SUCCEEDED")).toBe(true);
  });

  it("stops a results stream and a wait when their signal aborts", async () => {
    const session = await tessera.createSession({ sessionId: "open-forever" });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("enough")), 200);
    await expect(collect(session.results({ signal: controller.signal }))).rejects.toThrow("enough");
    await expect(session.wait({ signal: AbortSignal.timeout(200) })).rejects.toThrow();
  });

  it("turns API errors into TesseraErrors naming the status, code and field", async () => {
    const error = await tessera.createSession({ sessionId: "bad id!" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TesseraError);
    expect(error).toMatchObject({ status: 400, code: "VALIDATION", field: "sessionId", retryable: false });
    await expect(tessera.session("nope").status()).rejects.toMatchObject({ status: 404, code: "NOT_FOUND" });
    const wrong = new Tessera({ endpoint: grid.apiUrl, token: "not-a-token-at-all" });
    await expect(wrong.session("stream").status()).rejects.toMatchObject({ status: 401 });
    expect(() => new Tessera({ endpoint: "not a url", token: "t" })).toThrow(
      'endpoint: "not a url" is not a URL',
    );
  });

  it("lists sessions newest first across pages", async () => {
    const ids: string[] = [];
    for await (const s of tessera.sessions({ pageSize: 2 })) ids.push(s.sessionId);
    expect(ids.slice(0, 4)).toEqual(["open-forever", "cancel", "wide", "large"]);
  });
});
