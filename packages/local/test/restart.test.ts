/** The local grid keeps what it accepted across a restart: queued tasks, payloads and results. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type LocalConfig, loadConfig } from "../src/config.ts";
import { type LocalGrid, startLocalGrid } from "../src/local-grid.ts";
import { api } from "./api.ts";

const repo = new URL("../../../", import.meta.url).pathname;
const dataDir = mkdtempSync(join(tmpdir(), "tessera-restart-"));
const config = (changes: Partial<LocalConfig>): LocalConfig => ({
  ...loadConfig(repo, {}),
  dataDir,
  port: 0,
  lambda: { pollers: 1, timeoutSeconds: 30, concurrency: 4, threads: 1 },
  agents: { count: 0, concurrency: 1 },
  fleet: { pools: [], maxAgents: 1, concurrency: 1, idleSeconds: 1, everySeconds: 1 },
  sample: { tasks: 0, fleetTasks: 0 },
  ...changes,
});
const grids: LocalGrid[] = [];
afterAll(async () => {
  for (const g of grids) await g.stop();
});

/** The task once it is finished (SUCCEEDED, FAILED or CANCELLED). */
async function finished(grid: LocalGrid, session: string, index: number) {
  for (const end = Date.now() + 60_000; Date.now() < end; ) {
    const task = await api(grid, "GET", `/sessions/${session}/tasks/${index}`);
    if (["SUCCEEDED", "FAILED", "CANCELLED"].includes(task.body.status)) return task.body;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`task ${session}/${index} did not finish`);
}

describe("local grid restart", () => {
  it("keeps a large result's download and runs a task left queued, with its payload, after a restart", async () => {
    // A ~300 KB result (above the download-link threshold), and a ~200 KB payload (stored in the
    // bucket, not in its ticket) on a pool nothing serves before the restart.
    const bigPayload = JSON.stringify({ blob: "r".repeat(300_000) });
    const waitingPayload = JSON.stringify({ blob: "p".repeat(200_000) });
    const first = await startLocalGrid(config({ pools: ["default"], externalPools: ["later"] }));
    grids.push(first);
    await api(first, "POST", "/sessions", { sessionId: "big" });
    await api(first, "POST", "/sessions/big/tasks", {
      handler: "echo",
      tasks: [{ index: 0, payload: bigPayload }],
    });
    const done = await finished(first, "big", 0);
    expect(done).toMatchObject({ status: "SUCCEEDED" });
    expect(done.resultUrl).toEqual(expect.any(String));
    await api(first, "POST", "/sessions", { sessionId: "waiting", config: { pool: "later" } });
    const submitted = await api(first, "POST", "/sessions/waiting/tasks", {
      handler: "echo",
      tasks: [{ index: 0, payload: waitingPayload }],
    });
    expect(submitted.status).toBeLessThan(300);
    expect((await api(first, "GET", "/sessions/waiting/tasks/0")).body.status).toBe("QUEUED");
    await first.stop();

    // The same data directory, now with workers on the pool of the waiting task.
    const again = await startLocalGrid(config({ pools: ["default", "later"], externalPools: [] }));
    grids.push(again);
    const link = (await api(again, "GET", "/sessions/big/tasks/0")).body.resultUrl as string;
    const download = await fetch(link);
    expect(download.status).toBe(200);
    expect(await download.text()).toBe(bigPayload);
    const ran = await finished(again, "waiting", 0);
    expect(ran).toMatchObject({ status: "SUCCEEDED", attempt: 1 });
    expect(ran.result).toBe(waitingPayload);
    await again.stop();
  }, 180_000);
});
