/** The SDK against the local grid: real HTTP server, emulators, Lambda-style workers. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalGrid, loadConfig, startLocalGrid } from "@tessera/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TesseraError } from "../src/errors.ts";
import type { TaskResult } from "../src/result-stream.ts";
import type { SubmitSummary } from "../src/session.ts";
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
    expect(summary).toEqual({ submitted: 250, created: 250, existing: 0, nextIndex: 250 });
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
    expect(summary).toEqual({ submitted: 5, created: 0, existing: 5, nextIndex: 5 });
    const results = await collect(session.results({ minPollMs: 20 }));
    expect(results.map((r) => r.index).sort()).toEqual([0, 1, 2, 3, 4]);
    expect((await session.status()).counts.total).toBe(5);
  });

  it("reports as nextIndex the tasks stored without a gap, though batches answer out of order", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let posts = 0;
    // The first batch is stored at once, but its answer comes after the two others'.
    const holdFirst: typeof fetch = async (input, init) => {
      const first = String(input).endsWith("/tasks") && init?.method === "POST" && posts++ === 0;
      const response = await fetch(input, init);
      if (first) await held;
      return response;
    };
    const client = new Tessera({ endpoint: grid.apiUrl, token: grid.token, fetch: holdFirst });
    const session = await client.createSession<number, number>({ sessionId: "out-of-order" });
    const seen: SubmitSummary[] = [];
    await session.submit(
      Array.from({ length: 30 }, (_, i) => i),
      {
        handler: "echo",
        batchSize: 10,
        concurrency: 3,
        onProgress: (_, summary) => {
          seen.push(summary);
          if (seen.length === 2) release();
        },
      },
    );
    expect(seen.map((s) => [s.submitted, s.nextIndex])).toEqual([
      [10, 0],
      [20, 0],
      [30, 30],
    ]);
  });

  it("resumes an aborted submit from its last nextIndex: the rest of the source, at the right indexes", async () => {
    const session = await tessera.createSession<number, number>({ sessionId: "resumed" });
    const inputs = Array.from({ length: 30 }, (_, i) => 1000 + i);
    const controller = new AbortController();
    let last: SubmitSummary | undefined;
    const aborted = session.submit(inputs, {
      handler: "echo",
      batchSize: 10,
      concurrency: 1,
      close: true,
      signal: controller.signal,
      onProgress: (_, summary) => {
        last = summary;
        controller.abort(new Error("Ctrl-C"));
      },
    });
    await expect(aborted).rejects.toThrow("Ctrl-C");
    expect(last).toMatchObject({ submitted: 10, nextIndex: 10 });
    expect((await session.status()).state).toBe("OPEN"); // an aborted submit does not close
    const rest = await session.submit(inputs, { handler: "echo", close: true, resumeFrom: last!.nextIndex });
    expect(rest).toEqual({ submitted: 20, created: 20, existing: 0, nextIndex: 30 });
    const results = await collect(session.results({ minPollMs: 20 }));
    expect(results.map((r) => [r.index, r.output]).sort((a, b) => a[0]! - b[0]!)).toEqual(
      inputs.map((input, index) => [index, input]),
    );
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
    expect(summary).toEqual({ submitted: 100, created: 100, existing: 0, nextIndex: 100 });
    const results = await collect(session.results({ minPollMs: 20 }));
    expect(results).toHaveLength(100);
    expect(results.every((r) => r.status === "SUCCEEDED" && r.output === wide)).toBe(true);
  });

  it("cancels a session: its queued tasks come back CANCELLED", async () => {
    const session = await tessera.createSession({ sessionId: "cancel", config: { pool: "default" } });
    // Long sleeps (the grid refuses a handler no worker runs): none finishes before the cancel.
    await session.submit(
      Array.from({ length: 20 }, () => ({ ms: 600_000 })),
      { handler: "sleep" },
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
