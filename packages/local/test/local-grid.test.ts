/** The local grid booted as `npm start` boots it (its programmatic entry), used over HTTP. */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.ts";
import { type LocalGrid, startLocalGrid } from "../src/local-grid.ts";
import { runSample } from "../src/sample.ts";
import { api } from "./api.ts";

const repo = new URL("../../../", import.meta.url).pathname;
const dataDir = mkdtempSync(join(tmpdir(), "tessera-local-"));
const config = () => ({
  ...loadConfig(repo, {}),
  dataDir,
  port: 0,
  lambda: { pollers: 1, timeoutSeconds: 30, concurrency: 8, threads: 2 },
  agents: { count: 1, concurrency: 2 },
});
const grids: LocalGrid[] = [];
afterAll(async () => {
  for (const g of grids) await g.stop();
});

describe("local grid", () => {
  it("boots, runs tasks submitted over HTTP on its workers and agents, and keeps sessions across a restart", async () => {
    const lines: string[] = [];
    const grid = await startLocalGrid(config(), (line) => lines.push(line));
    grids.push(grid);
    const report = await runSample(grid.apiUrl, grid.token, 300, { timeoutMs: 60_000 });
    expect(report).toMatchObject({ tasks: 300, succeeded: 300, failed: 0 });
    // A fixed agent that dies is said to have died, and started again (as systemd would).
    const killed = grid.agents[0]!;
    killed.kill("SIGKILL");
    for (const end = Date.now() + 15_000; grid.agents[0] === killed; ) {
      if (Date.now() > end) throw new Error(`the killed agent was not restarted: ${lines.join(" | ")}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(grid.agents[0]!.exitCode).toBeNull();
    expect(lines.join("\n")).toMatch(/agent-1 \(pid \d+\) exited \(SIGKILL\); restarting it in 1 s/);
    // Results carry the echo of each payload.
    const task = await api(grid, "GET", `/sessions/${report.sessionId}/tasks/42`);
    expect(JSON.parse(task.body.result)).toEqual({ n: 42 });
    expect((await api(grid, "GET", "/sessions/nope")).status).toBe(404);
    expect((await fetch(`${grid.apiUrl}/sessions`)).status).toBe(401);
    const agent = grid.agents[0]!;
    await grid.stop();
    expect(agent.exitCode ?? agent.signalCode).not.toBeNull();
    await expect(fetch(`${grid.apiUrl}/sessions`)).rejects.toThrow();

    const again = await startLocalGrid(config());
    grids.push(again);
    expect(again.token).toBe(grid.token);
    const session = await api(again, "GET", `/sessions/${report.sessionId}`);
    expect(session).toMatchObject({
      status: 200,
      body: { state: "CLOSED", counts: { total: 300, succeeded: 300 } },
    });
    await again.stop();
  });

  it("starts agents when work arrives on a fleet pool and stops them all once it is idle", async () => {
    const grid = await startLocalGrid({
      ...config(),
      agents: { count: 0, concurrency: 1 },
      fleet: { pools: ["batch"], maxAgents: 2, concurrency: 2, idleSeconds: 1, everySeconds: 1 },
    });
    grids.push(grid);
    expect(grid.fleet.running).toBe(0); // idle grid: no agent
    let peak = 0;
    const watch = setInterval(() => {
      peak = Math.max(peak, grid.fleet.running);
    }, 50);
    try {
      const report = await runSample(grid.apiUrl, grid.token, 12, {
        pool: "batch",
        handler: "sleep",
        input: () => ({ ms: 400 }),
        timeoutMs: 60_000,
      });
      expect(report).toMatchObject({ tasks: 12, succeeded: 12 });
      expect(peak).toBeGreaterThanOrEqual(1);
      expect(peak).toBeLessThanOrEqual(2);
      const deadline = Date.now() + 30_000;
      while (grid.fleet.running > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(grid.fleet.running).toBe(0);
    } finally {
      clearInterval(watch);
      await grid.stop();
    }
  });

  it("stops a CPU-spinning task at its timeout on its Lambda-style workers, and its API keeps answering", async () => {
    const stubborn = new URL("../../agent/test/fixtures/tasks.ts", import.meta.url).pathname;
    const grid = await startLocalGrid({
      ...config(),
      dataDir: mkdtempSync(join(tmpdir(), "tessera-spin-")),
      tasks: [...config().tasks, stubborn],
      agents: { count: 0, concurrency: 1 },
      sample: { tasks: 0, fleetTasks: 0 },
    });
    grids.push(grid);
    await api(grid, "POST", "/sessions", { sessionId: "spin", config: { maxAttempts: 1 } });
    await api(grid, "POST", "/sessions/spin/tasks", {
      handler: "spin",
      timeoutMs: 1_500,
      tasks: [{ index: 0 }],
    });
    let answered = 0;
    for (const end = Date.now() + 30_000; Date.now() < end; ) {
      const task = await api(grid, "GET", "/sessions/spin/tasks/0");
      answered++;
      if (task.body.status === "FAILED") {
        expect(task.body.error).toMatchObject({ code: "TIMEOUT" });
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await api(grid, "GET", "/sessions/spin/tasks/0")).body.status).toBe("FAILED");
    expect(answered).toBeGreaterThan(5); // the API answered all along, the task spinning in a thread
    await grid.stop();
  });

  it("refuses a submit naming a task its pools do not run, with a 400 naming `handler`", async () => {
    const grid = await startLocalGrid({
      ...config(),
      dataDir: mkdtempSync(join(tmpdir(), "tessera-handlers-")),
      lambda: { pollers: 1, timeoutSeconds: 30, concurrency: 8, threads: 0 },
      agents: { count: 0, concurrency: 1 },
      sample: { tasks: 0, fleetTasks: 0 },
    });
    grids.push(grid);
    for (const pool of ["default", "batch"]) {
      const sessionId = `typo-${pool}`;
      await api(grid, "POST", "/sessions", { sessionId, config: { pool } });
      const refused = await api(grid, "POST", `/sessions/${sessionId}/tasks`, {
        handler: "prcie",
        tasks: [{ index: 0, payload: "{}" }],
      });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({ field: "handler" });
      expect(refused.body.error.message).toMatch(
        new RegExp(
          `^handler: unknown task "prcie" for pool ${pool} \\(it runs: echo, noop, price-european-option, sleep\\)$`,
        ),
      );
      // The grid's workers have no default task: a batch must name one.
      const nameless = await api(grid, "POST", `/sessions/${sessionId}/tasks`, { tasks: [{ index: 0 }] });
      expect(nameless).toMatchObject({ status: 400, body: { error: { field: "handler" } } });
      expect((await api(grid, "GET", `/sessions/${sessionId}`)).body.counts.total).toBe(0);
    }
    await grid.stop();
  });

  it("says in one line when its port is taken, and starts nothing", async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(startLocalGrid({ ...config(), port })).rejects.toThrow(
        `port ${port} on 127.0.0.1 is in use`,
      );
    } finally {
      blocker.close();
    }
  });

  it("refuses a second grid on the same data directory", async () => {
    const grid = await startLocalGrid({ ...config(), agents: { count: 0, concurrency: 1 } });
    grids.push(grid);
    await expect(startLocalGrid(config())).rejects.toThrow(/another local grid \(pid \d+\) is using/);
    await grid.stop();
  });

  it("stops `npm start` with one line when the data directory is corrupt", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tessera-corrupt-"));
    mkdirSync(join(dir, "dynamodb"));
    writeFileSync(join(dir, "dynamodb", "shared-local-instance.db"), "this is not sqlite");
    const main = new URL("../src/main.ts", import.meta.url).pathname;
    const child = spawnSync(process.execPath, [main], {
      cwd: repo,
      env: { ...process.env, TESSERA_LOCAL_DATA_DIR: dir, TESSERA_LOCAL_PORT: "0" },
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(child.status).toBe(1);
    expect(child.stderr.trim().split("\n")).toHaveLength(1);
    expect(child.stderr).toMatch(/^✗ .*shared-local-instance\.db is not a database \(corrupt\?\): move /);
  });

  it.each([
    ["a config file that is not JSON", "{ port: 1 }", /tessera-bad\.json: not valid JSON/],
    ["a config field of the wrong type", '{ "agents": { "count": "two" } }', /^✗ config\.agents\.count: /],
  ])("stops `npm start` with one line for %s", (_name, text, message) => {
    const dir = mkdtempSync(join(tmpdir(), "tessera-badconfig-"));
    writeFileSync(join(dir, "tessera-bad.json"), text);
    const main = new URL("../src/main.ts", import.meta.url).pathname;
    const child = spawnSync(process.execPath, [main], {
      cwd: repo,
      env: { ...process.env, TESSERA_LOCAL_CONFIG: join(dir, "tessera-bad.json"), TESSERA_DEBUG: "" },
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(child.status).toBe(1);
    expect(child.stderr.trim().split("\n")).toHaveLength(1);
    expect(child.stderr).toMatch(message);
  });
});
