/**
 * A warm-worker pool on the local grid (`workerPools`): the grid runs its agent with `--worker`,
 * Python workers (`python3 -m tessera.worker examples/python_pricing.py`) price the options,
 * and once they are ready the API checks the pool's handlers: a misspelt one is a 400.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.ts";
import { type LocalGrid, startLocalGrid } from "../src/local-grid.ts";
import { api } from "./api.ts";

const repo = new URL("../../../", import.meta.url).pathname;
let grid: LocalGrid | undefined;
afterAll(async () => {
  await grid?.stop();
});

const option = (strike: number) =>
  JSON.stringify({ kind: "call", spot: 100, strike, rate: 0.03, volatility: 0.2, maturity: 1 });

describe("warm-worker pools on the local grid", () => {
  it("checks a pool's handlers once its Python workers are ready, and runs its tasks on them", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "tessera-warm-"));
    grid = await startLocalGrid({
      ...loadConfig(repo, {}),
      dataDir,
      port: 0,
      lambda: { pollers: 1, timeoutSeconds: 30, concurrency: 4, threads: 1 },
      agents: { count: 0, concurrency: 1 },
      fleet: { pools: [], maxAgents: 1, concurrency: 1, idleSeconds: 1, everySeconds: 1 },
      workerPools: {
        py: { command: "python3 -m tessera.worker examples/python_pricing.py", concurrency: 2 },
      },
      sample: { tasks: 0, fleetTasks: 0 },
    });
    const g = grid;
    // The grid learns the pool's handlers from the agent's "ready" line (which its log keeps).
    const log = join(dataDir, "logs", "worker-agent-py.log");
    const ready = () => readFileSync(log, "utf8").includes('"message":"worker processes ready"');
    for (let end = Date.now() + 60_000; !ready(); await new Promise((r) => setTimeout(r, 200)))
      if (Date.now() > end) throw new Error(`the worker agent never got ready: ${readFileSync(log, "utf8")}`);
    await api(g, "POST", "/sessions", { sessionId: "typo", config: { pool: "py" } });
    const typo = await api(g, "POST", "/sessions/typo/tasks", { handler: "prcie-py", tasks: [{ index: 0 }] });
    expect(typo.status).toBe(400);
    expect(typo.body.error).toMatchObject({
      field: "handler",
      message: 'handler: unknown task "prcie-py" for pool py (it runs: price-py)',
    });
    const strikes = [90, 100, 110];
    await api(g, "POST", "/sessions", { sessionId: "priced", config: { pool: "py", maxAttempts: 1 } });
    const submitted = await api(g, "POST", "/sessions/priced/tasks", {
      handler: "price-py",
      tasks: strikes.map((strike, index) => ({ index, payload: option(strike) })),
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBeLessThan(300);
    const results = new Map<number, { status: string; result?: string }>();
    for (let cursor = "", end = Date.now() + 60_000; results.size < strikes.length; ) {
      if (Date.now() > end) throw new Error(`only ${results.size} results`);
      const page = await api(g, "GET", `/sessions/priced/results${cursor ? `?cursor=${cursor}` : ""}`);
      for (const r of page.body.results) results.set(Number(r.taskId), r);
      cursor = encodeURIComponent(page.body.cursor);
      if (page.body.results.length === 0) await new Promise((r) => setTimeout(r, 200));
    }
    const prices = strikes.map((_, i) => {
      expect(results.get(i)).toMatchObject({ status: "SUCCEEDED" });
      return (JSON.parse(results.get(i)!.result!) as { price: number }).price;
    });
    expect(prices[1]).toBeCloseTo(9.413, 2); // Black-Scholes, at the money
    expect(prices[0]).toBeGreaterThan(prices[1]!);
  }, 180_000);
});
