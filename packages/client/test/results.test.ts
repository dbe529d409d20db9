/**
 * Results streams and waits against a scripted API (stub-api.ts): when they end, where they
 * resume, and what a lost result link does. The grid-backed tests are in client.test.ts.
 */
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { TesseraError } from "../src/errors.ts";
import type { TaskResult } from "../src/result-stream.ts";
import { Tessera } from "../src/tessera.ts";
import type { ResultsPage } from "../src/types.ts";
import { type StubApi, type StubScript, sessionStatus, startStubApi, succeeded } from "./stub-api.ts";

let stub: StubApi | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

async function start(script: StubScript): Promise<{ api: StubApi; tessera: Tessera }> {
  stub = await startStubApi(script);
  return {
    api: stub,
    tessera: new Tessera({ endpoint: stub.url, token: "t", retryBaseMs: 1, maxRetries: 2 }),
  };
}

async function collect<O>(
  stream: AsyncIterable<TaskResult<O>>,
  stopAfter = Infinity,
): Promise<TaskResult<O>[]> {
  const out: TaskResult<O>[] = [];
  for await (const r of stream) {
    out.push(r);
    if (out.length >= stopAfter) break;
  }
  return out;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/**
 * A session of `total` finished tasks read as a cursor chain: the cursor `o<k>` stands after
 * the first k results, and a page holds the next `limit` of them.
 */
function chain(total: number) {
  return (body: { cursor?: string; limit?: number }): ResultsPage => {
    const from = body.cursor ? Number(body.cursor.slice(1)) : 0;
    const to = Math.min(total, from + (body.limit ?? 1000));
    return { results: range(from, to).map((i) => succeeded(i)), cursor: `o${to}`, settled: to >= total };
  };
}

describe("results() and wait() end on the API's settled flag", () => {
  it("streams until a page says settled, though the status already counts every task delivered", async () => {
    // Closed with 2 tasks counted and delivered; a submit in flight at the close lands a third.
    const pages: ResultsPage[] = [
      { results: [succeeded(0), succeeded(1)], cursor: "a", settled: false },
      { results: [], cursor: "a", settled: false },
      { results: [], cursor: "a", settled: false },
      { results: [], cursor: "a", settled: false },
      { results: [succeeded(2)], cursor: "b", settled: true },
    ];
    const { api, tessera } = await start({
      results: (_, n) => pages[Math.min(n, pages.length - 1)]!,
      status: () => sessionStatus("CLOSED", 2, 2, false),
    });
    const results = await collect(tessera.session("s").results({ minPollMs: 5, maxPollMs: 5 }));
    expect(results.map((r) => r.index)).toEqual([0, 1, 2]);
    // Polls only the results: no status read behind them.
    expect(api.requests.filter((r) => r.startsWith("GET"))).toEqual([]);
    expect(api.requests).toHaveLength(pages.length);
  });

  it("wait() resolves on the status's settled flag, not when a closed session's counted tasks are finished", async () => {
    const { tessera } = await start({
      status: (n) => (n < 3 ? sessionStatus("CLOSED", 2, 2, false) : sessionStatus("CLOSED", 3, 3, true)),
    });
    const seen: boolean[] = [];
    const status = await tessera
      .session("s")
      .wait({ minPollMs: 5, maxPollMs: 5, onProgress: (s) => seen.push(s.settled) });
    expect(status).toMatchObject({ settled: true, counts: { total: 3, succeeded: 3 } });
    expect(seen).toEqual([false, false, false, true]);
  });
});

describe("results() resume tokens", () => {
  it("resumes right after the last result consumed in the middle of a page, repeating none", async () => {
    const { tessera } = await start({ results: chain(100) });
    const session = tessera.session("s");
    const first = session.results({ pageSize: 100, minPollMs: 5 });
    expect((await collect(first, 40)).map((r) => r.index)).toEqual(range(0, 40));
    const token = first.cursor;
    expect(token).toMatch(/^tr1\./);
    const rest = await collect(session.results({ cursor: token, pageSize: 100, minPollMs: 5 }));
    expect(rest.map((r) => r.index)).toEqual(range(40, 100));
  });

  it("resumes across other page sizes and resumes again: every result exactly once", async () => {
    const { tessera } = await start({ results: chain(100) });
    const session = tessera.session("s");
    const first = session.results({ pageSize: 100, minPollMs: 5 });
    const a = await collect(first, 40);
    // Smaller pages: the skipped indexes of the first page span several of these.
    const second = session.results({ cursor: first.cursor, pageSize: 30, minPollMs: 5 });
    const b = await collect(second, 6);
    expect(b.map((r) => r.index)).toEqual(range(40, 46));
    const c = await collect(session.results({ cursor: second.cursor, pageSize: 7, minPollMs: 5 }));
    expect([...a, ...b, ...c].map((r) => r.index)).toEqual(range(0, 100));
  });

  it("is the API's own cursor between pages, and takes a raw API cursor to resume", async () => {
    const { api, tessera } = await start({ results: chain(100) });
    const session = tessera.session("s");
    const stream = session.results({ pageSize: 50, minPollMs: 5 });
    expect(stream.cursor).toBeUndefined();
    await collect(stream, 50);
    expect(stream.cursor).toBe("o50");
    const rest = await collect(session.results({ cursor: "o50", pageSize: 50, minPollMs: 5 }));
    expect(rest.map((r) => r.index)).toEqual(range(50, 100));
    expect(api.requests).toHaveLength(2);
  });

  it.each([
    ["an unknown version", "tr9.AQ.o1", "unknown version"],
    ["no API cursor part", "tr1.AQ", "no API cursor part"],
    ["an index part that is not base64url", "tr1.!!.o1", "not base64url"],
    ["a truncated number", "tr1.gA.o1", "truncated"],
    ["a count beyond the bytes", "tr1.BQE.o1", "bad index count"],
    ["trailing bytes", "tr1.AQEB.o1", "trailing bytes"],
  ])("rejects a token with %s as a BAD_CURSOR TesseraError naming cursor", async (_, token, why) => {
    const { api, tessera } = await start({ results: chain(3) });
    // Thrown by results() itself, before any request.
    let error: unknown;
    try {
      tessera.session("s").results({ cursor: token });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TesseraError);
    expect(error).toMatchObject({ status: 0, code: "BAD_CURSOR", field: "cursor" });
    expect((error as Error).message).toMatch(/^cursor: /);
    expect((error as Error).message).toContain(why);
    expect(api.requests).toEqual([]);
  });
});

describe("results() with a result link that fails", () => {
  /** Tasks 0 to 2, settled; those in `links` have their result behind a link of that name. */
  function pageWithLinks(api: () => StubApi, links: Record<number, string>) {
    return (): ResultsPage => ({
      results: [0, 1, 2].map((i) => {
        const name = links[i];
        return name
          ? { taskId: String(i), status: "SUCCEEDED", attempt: 2, resultUrl: api().blobUrl(name) }
          : succeeded(i);
      }),
      cursor: "end",
      settled: true,
    });
  }

  it("yields a 404'd result as RESULT_UNAVAILABLE with the task's status, and goes on", async () => {
    const { api, tessera } = await start({
      results: pageWithLinks(() => api, { 1: "gone", 2: "kept" }),
      blob: (name) => (name === "gone" ? { status: 404, body: "<Error>NoSuchKey</Error>" } : "big"),
    });
    const results = await collect(tessera.session("s").results({ minPollMs: 5 }));
    expect(results.map((r) => r.index)).toEqual([0, 1, 2]);
    expect(results[1]).toEqual({
      taskId: "1",
      index: 1,
      status: "SUCCEEDED",
      attempt: 2,
      error: { code: "RESULT_UNAVAILABLE", message: expect.stringContaining("HTTP 404") },
    });
    expect(results[1]).not.toHaveProperty("output");
    expect(results[2]).toMatchObject({ index: 2, status: "SUCCEEDED", output: "big" });
    expect(results[2]?.error).toBeUndefined();
    // A 4xx is final: asked once.
    expect(api.requests.filter((r) => r === "GET /blobs/gone")).toHaveLength(1);
  });

  it("retries 5xx on a result link before giving up, and gives up after the retries", async () => {
    const { api, tessera } = await start({
      results: pageWithLinks(() => api, { 0: "flaky", 1: "down" }),
      blob: (name, n) => {
        if (name === "down") return { status: 500, body: "<Error>InternalError</Error>" };
        return n < 2 ? { status: 503, body: "<Error>SlowDown</Error>" } : { n: 0 };
      },
    });
    const results = await collect(tessera.session("s").results({ minPollMs: 5 }));
    expect(results[0]).toMatchObject({ index: 0, output: { n: 0 } });
    expect(results[1]).toMatchObject({
      index: 1,
      status: "SUCCEEDED",
      error: { code: "RESULT_UNAVAILABLE", message: expect.stringContaining("HTTP 500") },
    });
    expect(results[2]).toMatchObject({ index: 2, output: 2 });
    expect(api.requests.filter((r) => r === "GET /blobs/flaky")).toHaveLength(3);
    expect(api.requests.filter((r) => r === "GET /blobs/down")).toHaveLength(3); // maxRetries 2
  });

  it("gives up on a link that cannot be reached after the retries, as RESULT_UNAVAILABLE", async () => {
    // A port nothing listens on: every try is refused.
    const closed = await startStubApi({});
    const dead = closed.blobUrl("x");
    await closed.close();
    const { tessera } = await start({
      results: (): ResultsPage => ({
        results: [{ taskId: "0", status: "SUCCEEDED", attempt: 1, resultUrl: dead }, succeeded(1)],
        cursor: "end",
        settled: true,
      }),
    });
    const results = await collect(tessera.session("s").results({ minPollMs: 5 }));
    expect(results[0]).toMatchObject({
      index: 0,
      error: { code: "RESULT_UNAVAILABLE", message: expect.stringContaining("cannot reach 127.0.0.1") },
    });
    expect(results[0]?.error?.message).not.toContain("X-Amz-Signature");
    expect(results[1]).toMatchObject({ index: 1, output: 1 });
  });

  it("rejects with the abort reason when the signal aborts during a download", async () => {
    const controller = new AbortController();
    const { api, tessera } = await start({
      results: pageWithLinks(() => api, { 1: "slow" }),
      blob: () => {
        controller.abort(new Error("enough"));
        return undefined; // never answers
      },
    });
    const seen: number[] = [];
    const stream = tessera.session("s").results({ minPollMs: 5, signal: controller.signal });
    const error = await (async () => {
      for await (const r of stream) seen.push(r.index);
    })().catch((e: unknown) => e);
    expect(error).toMatchObject({ message: "enough" });
    expect(seen).toEqual([0]);
  });

  it("with failuresOnly yields the failed and cancelled tasks alone, fetching no output", async () => {
    const { api, tessera } = await start({
      results: (): ResultsPage => ({
        results: [
          { taskId: "0", status: "SUCCEEDED", attempt: 1, resultUrl: api.blobUrl("big") },
          { taskId: "1", status: "FAILED", attempt: 3, error: { code: "TIMEOUT", message: "too slow" } },
          succeeded(2),
          {
            taskId: "3",
            status: "CANCELLED",
            attempt: 0,
            error: { code: "CANCELLED", message: "cancelled" },
          },
        ],
        cursor: "end",
        settled: true,
      }),
      blob: () => "big",
    });
    const stream = tessera.session("s").results({ failuresOnly: true });
    const results = await collect(stream);
    expect(results.map((r) => [r.index, r.status, r.error?.code])).toEqual([
      [1, "FAILED", "TIMEOUT"],
      [3, "CANCELLED", "CANCELLED"],
    ]);
    expect(api.requests.filter((r) => r.startsWith("GET /blobs"))).toEqual([]);
    expect(stream.cursor).toBe("end");
  });

  it("tessera results prints the unavailable result as a line with its error, then the rest", async () => {
    const { api } = await start({
      results: pageWithLinks(() => api, { 1: "gone" }),
      blob: () => ({ status: 404, body: "<Error>NoSuchKey</Error>" }),
    });
    const run = await cli(["results", "s"], api.url);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { taskId: "0", index: 0, status: "SUCCEEDED", attempt: 1, output: 0 },
      {
        taskId: "1",
        index: 1,
        status: "SUCCEEDED",
        attempt: 2,
        error: { code: "RESULT_UNAVAILABLE", message: expect.stringContaining("HTTP 404") },
      },
      { taskId: "2", index: 2, status: "SUCCEEDED", attempt: 1, output: 2 },
    ]);
  });
});

const CLI = new URL("../src/cli.ts", import.meta.url).pathname;

function cli(args: string[], endpoint: string) {
  const noProfile = join(mkdtempSync(join(tmpdir(), "tessera-results-")), "config.json");
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, TESSERA_URL: endpoint, TESSERA_TOKEN: "t", TESSERA_CONFIG: noProfile },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.stdin.end();
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
