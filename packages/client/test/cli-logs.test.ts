/** Task logs on the local grid: kept per session whichever process ran the task, read by `tessera logs`. */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
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
    const page = await api("GET", `/local/sessions/${sessionId}/logs`);
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

  it("is tenant-scoped and says what is wrong in one line", async () => {
    expect((await api("GET", "/local/sessions/logs-lambda/logs", undefined, "not-a-token")).status).toBe(401);
    // Another tenant's session does not exist for the caller.
    const other = await api("GET", "/local/sessions/logs-lambda/logs", undefined, "token-of-globex");
    expect(other).toMatchObject({
      status: 404,
      body: { error: { code: "NOT_FOUND", message: "session logs-lambda not found" } },
    });
    const missing = await tessera(["logs", "nope"]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toBe("tessera: session nope not found\n");
    expect(await api("GET", "/local/sessions/logs-lambda/logs?after=-1")).toMatchObject({
      status: 400,
      body: { error: { code: "VALIDATION", field: "after" } },
    });
    const bad = await tessera(["logs", "logs-lambda", "--task", "x"]);
    expect(bad.code).toBe(2);
    const deployed = await tessera(["logs", "logs-lambda"], { TESSERA_IAM_REGION: "us-east-1" });
    expect(deployed.code).toBe(2);
    expect(deployed.stderr).toMatch(/reads the local grid's task logs only.*CloudWatch Logs/);
  }, 30_000);
});
