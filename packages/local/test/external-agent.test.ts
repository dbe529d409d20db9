/**
 * A pool served only by agents started by hand: the grid writes the settings they need, starts
 * none of its own workers or agents on it, and an agent running a Python program serves it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.ts";
import { startLocalGrid } from "../src/local-grid.ts";
import { api } from "./api.ts";

const repo = new URL("../../../", import.meta.url).pathname;
const agentCli = fileURLToPath(import.meta.resolve("@tessera/agent/cli"));
const stops: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
});

/** `tessera-agent` with nothing of the grid's but what `agent.env` says, sourced by a shell. */
function startExternalAgent(envFile: string): ChildProcess {
  const child = spawn(
    "sh",
    [
      "-c",
      `set -a; . "$0"; set +a; exec "$@"`,
      envFile,
      process.execPath,
      agentCli,
      "--pools",
      "batch",
      "--concurrency",
      "2",
      "--command",
      "python3",
      "--arg",
      join(repo, "examples/pricer.py"),
    ],
    { env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, stdio: ["ignore", "ignore", "pipe"] },
  );
  stops.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  });
  return child;
}

describe("external agents on the local grid", () => {
  it("writes the settings an agent needs, leaves an external pool to it, and it runs a Python program", async () => {
    const grid = await startLocalGrid({
      ...loadConfig(repo, {}),
      dataDir: mkdtempSync(join(tmpdir(), "tessera-external-")),
      port: 0,
      lambda: { pollers: 1, timeoutSeconds: 30, concurrency: 4, threads: 1 },
      // The grid's own agents would serve "batch" (the fleet's default pool) and fail these tasks
      // (`unknown task "price-py"`) if it were not external.
      agents: { count: 1, concurrency: 2 },
      fleet: { pools: ["batch"], maxAgents: 2, concurrency: 2, idleSeconds: 1, everySeconds: 1 },
      externalPools: ["batch"],
      sample: { tasks: 0, fleetTasks: 0 },
    });
    stops.push(() => grid.stop());
    const envText = readFileSync(grid.agentEnvFile, "utf8");
    expect(envText).toContain(`TESSERA_QUEUE_URL_BASE='${grid.env.TESSERA_QUEUE_URL_BASE}'`);
    const agent = startExternalAgent(grid.agentEnvFile);
    let stderr = "";
    agent.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
    });

    const strikes = Array.from({ length: 12 }, (_, i) => 80 + 4 * i);
    // One attempt each: a task taken by anything but the external agent would fail for good.
    await api(grid, "POST", "/sessions", {
      sessionId: "prices",
      config: { pool: "batch", maxAttempts: 1, chunkMaxTasks: 2 },
    });
    const submitted = await api(grid, "POST", "/sessions/prices/tasks", {
      handler: "price-py",
      tasks: strikes.map((strike, index) => ({
        index,
        payload: JSON.stringify({
          kind: "call",
          spot: 100,
          strike,
          rate: 0.03,
          volatility: 0.2,
          maturity: 1,
        }),
      })),
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBeLessThan(300);
    await api(grid, "POST", "/sessions/prices/close");

    const results = new Map<number, { status: string; attempt: number; result?: string; error?: unknown }>();
    let fleetPeak = 0;
    for (let cursor = "", end = Date.now() + 120_000; results.size < strikes.length; ) {
      if (Date.now() > end) throw new Error(`only ${results.size} results; agent stderr: ${stderr}`);
      fleetPeak = Math.max(fleetPeak, grid.fleet.running);
      const page = await api(grid, "GET", `/sessions/prices/results${cursor ? `?cursor=${cursor}` : ""}`);
      for (const r of page.body.results) results.set(Number(r.taskId), r);
      cursor = encodeURIComponent(page.body.cursor);
      if (page.body.results.length === 0) await new Promise((r) => setTimeout(r, 200));
    }
    const prices = strikes.map((_, i) => {
      const r = results.get(i)!;
      expect(r, JSON.stringify(r)).toMatchObject({ status: "SUCCEEDED", attempt: 1 });
      return (JSON.parse(r.result!) as { price: number }).price;
    });
    // Black-Scholes: 100 spot, 100 strike, 3%, 20% vol, 1 year ≈ 9.41; calls fall as strikes rise.
    expect(prices[5]).toBeCloseTo(9.413, 2);
    for (let i = 1; i < prices.length; i++) expect(prices[i]).toBeLessThan(prices[i - 1]!);
    // The grid started nothing on the external pool.
    expect(fleetPeak).toBe(0);
    const fixedAgentLog = join(dirname(grid.agentEnvFile), "logs", "agent-1.log");
    expect(readFileSync(fixedAgentLog, "utf8")).not.toContain("price-py");
  }, 180_000);
});
