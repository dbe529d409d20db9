/**
 * Task logs on the local grid: kept per session whichever process ran the task, served by the
 * API's logs route (the one the deployed API serves from CloudWatch Logs), read by `tessera logs`.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalGrid, loadConfig, startLocalGrid } from "@tessera/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const CLI = new URL("../src/cli.ts", import.meta.url).pathname;
const repo = new URL("../../../", import.meta.url).pathname;
const tasks = [new URL("./fixtures/logging-tasks.ts", import.meta.url).pathname];
const noProfile = join(mkdtempSync(join(tmpdir(), "tessera-logs-")), "config.json");
const dataDir = mkdtempSync(join(tmpdir(), "tessera-logs-grid-"));
const screen: string[] = [];
let grid: LocalGrid;

beforeAll(async () => {
  const config = loadConfig(repo, {});
  grid = await startLocalGrid(
    {
      ...config,
      tasks,
      dataDir,
      port: 0,
      tokens: { "token-of-local": "local", "token-of-globex": "globex" },
      sample: { tasks: 0, fleetTasks: 0 },
      agents: { count: 0, concurrency: 1 },
      lambda: { pollers: 1, timeoutSeconds: 30, concurrency: 4, threads: 1 },
      fleet: { ...config.fleet, pools: ["batch"], maxAgents: 1, everySeconds: 1 },
    },
    (line) => screen.push(line),
  );
}, 60_000);
afterAll(() => grid?.stop());

async function api(method: string, path: string, body?: unknown, token = grid.token) {
  const response = await fetch(`${grid.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  // biome-ignore lint/suspicious/noExplicitAny: checked by each test
  return { status: response.status, body: (await response.json()) as any };
}

/** Submits `count` squares to a new session on `pool`; resolves once their lines are logged. */
async function squares(sessionId: string, pool: string, count: number): Promise<void> {
  expect((await api("POST", "/sessions", { sessionId, config: { pool } })).status).toBe(201);
  const submitted = await api("POST", `/sessions/${sessionId}/tasks`, {
    handler: "square",
    tasks: Array.from({ length: count }, (_, index) => ({ index, payload: JSON.stringify({ x: index }) })),
  });
  expect(submitted.status).toBeLessThan(300);
  for (const end = Date.now() + 60_000; ; ) {
    const page = await api("GET", `/sessions/${sessionId}/logs`);
    if (page.body.entries?.length === count) return;
    if (Date.now() > end) throw new Error(`no logs for ${sessionId}: ${JSON.stringify(page.body)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function tessera(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: {
      ...process.env,
      TESSERA_URL: grid.apiUrl,
      TESSERA_TOKEN: grid.token,
      TESSERA_CONFIG: noProfile,
      ...env,
    },
  });
  child.stdin.end();
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (code) => resolve({ code, stdout, stderr })),
  );
}

describe("task logs on the local grid", () => {
  it("keeps the lines of tasks run in the workers' threads, shows them, and `tessera logs --task` prints them", async () => {
    await squares("logs-lambda", "default", 3);
    const file = join(dataDir, "logs", "sessions", grid.tenant, "logs-lambda.jsonl");
    const kept = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(kept).toHaveLength(3); // the debug lines are dropped
    expect(kept.find((e) => e.index === 2)).toMatchObject({
      level: "info",
      message: "squaring",
      tenant: grid.tenant,
      session: "logs-lambda",
      index: 2,
      attempt: 1,
      handler: "square",
      x: 2,
    });
    expect(screen).toContainEqual(
      expect.stringMatching(/^\d\d:\d\d:\d\d info {2}logs-lam #1 a1 square {2}squaring x=1$/),
    );

    const text = await tessera(["logs", "logs-lambda", "--task", "1"]);
    expect(text).toMatchObject({ code: 0, stderr: "" });
    expect(text.stdout).toMatch(/^\d\d:\d\d:\d\d info {2}logs-lam #1 a1 square {2}squaring x=1\n$/);
    const json = await tessera(["logs", "logs-lambda", "--json"]);
    const entries = json.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(entries.map((e) => e.index).sort()).toEqual([0, 1, 2]);
    expect(entries[0]).toMatchObject({ session: "logs-lambda", attempt: 1, handler: "square" });
  }, 60_000);

  it("keeps the lines of tasks run by agent processes too", async () => {
    await squares("logs-agent", "batch", 2);
    const file = join(dataDir, "logs", "sessions", grid.tenant, "logs-agent.jsonl");
    expect(existsSync(file)).toBe(true);
    const text = await tessera(["logs", "logs-agent", "--task", "1"]);
    expect(text.stdout).toMatch(/ logs-age #1 a1 square {2}squaring x=1\n$/);
  }, 60_000);

  it("--follow prints lines logged after it started", async () => {
    await squares("logs-follow", "default", 1);
    const child = spawn(process.execPath, [CLI, "logs", "logs-follow", "--follow"], {
      env: { ...process.env, TESSERA_URL: grid.apiUrl, TESSERA_TOKEN: grid.token, TESSERA_CONFIG: noProfile },
    });
    let stdout = "";
    child.stdout.on("data", (d) => (stdout += d));
    try {
      const lines = async (n: number) => {
        for (const end = Date.now() + 30_000; stdout.split("\n").length - 1 < n; ) {
          if (Date.now() > end) throw new Error(`no ${n} lines: ${stdout}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      await lines(1);
      const more = await api("POST", "/sessions/logs-follow/tasks", {
        handler: "square",
        tasks: [{ index: 1, payload: JSON.stringify({ x: 7 }) }],
      });
      expect(more.status).toBeLessThan(300);
      await lines(2);
      expect(stdout.split("\n")[1]).toMatch(/ logs-fol #1 a1 square {2}squaring x=7$/);
    } finally {
      child.kill();
    }
  }, 60_000);

  it("serves one task's entries with `task`, and pages with `limit` and the cursor", async () => {
    await squares("logs-pages", "default", 4);
    const one = await api("GET", "/sessions/logs-pages/logs?task=2");
    expect(one.status).toBe(200);
    expect(one.body.entries).toHaveLength(1);
    expect(one.body.entries[0]).toMatchObject({ index: 2, x: 2, session: "logs-pages" });
    expect(one.body.more).toBe(false);

    const seen: number[] = [];
    let after: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await api(
        "GET",
        `/sessions/logs-pages/logs?limit=1${after === undefined ? "" : `&after=${encodeURIComponent(after)}`}`,
      );
      expect(page.status).toBe(200);
      expect(page.body.entries.length).toBeLessThanOrEqual(1);
      seen.push(...page.body.entries.map((e: { index: number }) => e.index));
      pages++;
      after = page.body.next;
      if (!page.body.more) break;
    }
    expect(seen.sort()).toEqual([0, 1, 2, 3]); // each once
    expect(pages).toBeGreaterThanOrEqual(4);
    // Caught up: the same cursor comes back, to poll with.
    const idle = await api("GET", `/sessions/logs-pages/logs?after=${encodeURIComponent(after!)}`);
    expect(idle.body).toEqual({ entries: [], next: after, more: false });
  }, 60_000);

  it("points a failed task's error at its logs, in the API's task view and in `tessera results`", async () => {
    const sessionId = "logs-failed";
    expect((await api("POST", "/sessions", { sessionId, config: { maxAttempts: 1 } })).status).toBe(201);
    const submitted = await api("POST", `/sessions/${sessionId}/tasks`, {
      handler: "give-up",
      tasks: [{ index: 0, payload: JSON.stringify({ x: 5 }) }],
    });
    expect(submitted.status).toBeLessThan(300);
    expect((await api("POST", `/sessions/${sessionId}/close`)).status).toBe(200);
    let task: { status: number; body: Record<string, unknown> };
    for (const end = Date.now() + 30_000; ; ) {
      task = await api("GET", `/sessions/${sessionId}/tasks/0`);
      if (task.body.status === "FAILED") break;
      if (Date.now() > end) throw new Error(`task not failed: ${JSON.stringify(task.body)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(task.body.logsUrl).toBe(`/sessions/${sessionId}/logs?task=0`);
    const logs = await api("GET", task.body.logsUrl as string);
    expect(logs.body.entries).toEqual([
      expect.objectContaining({ level: "warn", message: "giving up", x: 5 }),
    ]);
    const results = await tessera(["results", sessionId]);
    expect(JSON.parse(results.stdout)).toMatchObject({
      status: "FAILED",
      error: { message: expect.stringMatching(/no square for 5/) },
      logs: `tessera logs ${sessionId} --task 0`,
    });
    // A task that succeeded has no such pointer.
    expect((await api("GET", "/sessions/logs-pages/tasks/0")).body.logsUrl).toBeUndefined();
  }, 60_000);

  it("is tenant-scoped and says what is wrong in one line", async () => {
    expect((await api("GET", "/sessions/logs-lambda/logs", undefined, "not-a-token")).status).toBe(401);
    // Another tenant's session does not exist for the caller.
    const other = await api("GET", "/sessions/logs-lambda/logs", undefined, "token-of-globex");
    expect(other).toMatchObject({
      status: 404,
      body: { error: { code: "NOT_FOUND", message: "session logs-lambda not found" } },
    });
    const missing = await tessera(["logs", "nope"]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toBe("tessera: session nope not found\n");
    for (const [query, field] of [
      ["after=-1", "query.after"],
      ["after=abc", "query.after"],
      ["task=x", "query.task"],
      ["task=-1", "query.task"],
      ["limit=0", "query.limit"],
      ["limit=1001", "query.limit"],
      ["limit=ten", "query.limit"],
      ["tail=1", "query"],
    ])
      expect(await api("GET", `/sessions/logs-lambda/logs?${query}`)).toMatchObject({
        status: 400,
        body: { error: { code: "VALIDATION", field } },
      });
    const bad = await tessera(["logs", "logs-lambda", "--task", "x"]);
    expect(bad.code).toBe(2);
  }, 30_000);

  it("is in the OpenAPI document", async () => {
    // biome-ignore lint/suspicious/noExplicitAny: the document's shape is what is checked
    const doc = (await (await fetch(`${grid.apiUrl}/openapi.json`)).json()) as any;
    const op = doc.paths["/sessions/{sessionId}/logs"].get;
    expect(op.operationId).toBe("readLogs");
    expect(op.parameters.map((p: { name: string }) => p.name).sort()).toEqual([
      "after",
      "limit",
      "sessionId",
      "task",
    ]);
    expect(doc.components.schemas.TaskLogPage.required).toEqual(["entries", "next", "more"]);
  });
});

describe("`tessera logs` against a grid whose API has no logs route", () => {
  it("says to redeploy, in one line", async () => {
    // Answers as the deployed API's router does for a route it does not have.
    const server = createServer((req, res) =>
      res
        .writeHead(404, { "content-type": "application/json" })
        .end(JSON.stringify({ error: { code: "ROUTE_NOT_FOUND", message: `no route GET ${req.url}` } })),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const run = await tessera(["logs", "s"], { TESSERA_URL: url });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/^tessera: this grid's API has no logs route .*: redeploy it\n$/);
    } finally {
      server.close();
    }
  });
});
