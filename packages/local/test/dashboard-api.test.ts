/**
 * The routes the dashboard reads, on the local grid as `npm start` runs it: real workers run the
 * tasks, the fleet controller runs beside the API, and every answer comes over HTTP.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.ts";
import { type LocalGrid, startLocalGrid } from "../src/local-grid.ts";
import { api } from "./api.ts";

const repo = new URL("../../../", import.meta.url).pathname;
const stops: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
});

/** Polls `read` every 200 ms until `done` says so, for at most `ms`. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 60_000): Promise<T> {
  for (const end = Date.now() + ms; ; ) {
    const value = await read();
    if (done(value) || Date.now() > end) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("the dashboard's API on the local grid", () => {
  it("lists, summarizes and explains a finished session, and shows the fleet", async () => {
    const grid: LocalGrid = await startLocalGrid({
      ...loadConfig(repo, {}),
      dataDir: mkdtempSync(join(tmpdir(), "tessera-dash-")),
      port: 0,
      lambda: { pollers: 1, timeoutSeconds: 30, concurrency: 2, threads: 1 },
      agents: { count: 0, concurrency: 1 },
      fleet: { pools: ["batch"], maxAgents: 1, concurrency: 1, idleSeconds: 1, everySeconds: 1 },
      sample: { tasks: 0, fleetTasks: 0 },
    });
    stops.push(() => grid.stop());

    await api(grid, "POST", "/sessions", {
      sessionId: "dash",
      tags: { desk: "rates" },
      config: { maxAttempts: 1, chunkMaxTasks: 2 },
    });
    // `sleep` refuses a negative wait: the odd tasks fail.
    const tasks = Array.from({ length: 6 }, (_, index) => ({
      index,
      payload: JSON.stringify({ ms: index % 2 === 1 ? -1 : 1 }),
    }));
    expect((await api(grid, "POST", "/sessions/dash/tasks", { handler: "sleep", tasks })).status).toBe(200);
    const done = await until(
      () => api(grid, "GET", "/sessions/dash"),
      (r) => r.body.counts.succeeded + r.body.counts.failed === 6,
    );
    expect(done.body.counts).toMatchObject({ succeeded: 3, failed: 3 });

    const list = await api(grid, "GET", "/sessions?tag=desk:rates&state=OPEN&include=summary");
    expect(list.body.sessions).toHaveLength(1);
    expect(list.body.sessions[0].summary).toMatchObject({ counts: { total: 6, succeeded: 3 }, progress: 1 });

    const failures = await api(grid, "GET", "/sessions/dash/failures");
    expect(failures.body).toMatchObject({ totalFailed: 3, retried: 0, complete: true });
    expect(failures.body.groups).toHaveLength(1);
    expect(failures.body.groups[0]).toMatchObject({ count: 3, taskIds: ["1", "3", "5"] });

    const succeeded = await api(grid, "GET", "/sessions/dash/tasks?status=SUCCEEDED");
    expect(succeeded.body.tasks.map((t: { taskId: string }) => t.taskId)).toEqual(["0", "2", "4"]);
    for (const t of succeeded.body.tasks) expect(t.durationMs).toBeGreaterThanOrEqual(1);

    const task = await api(grid, "GET", "/sessions/dash/tasks/1");
    expect(task.body).toMatchObject({ status: "FAILED", payloadPreview: '{"ms":-1}' });
    expect(task.body.attempts).toHaveLength(1);
    expect(task.body.attempts[0].error.code).toBe(failures.body.groups[0].code);

    const history = await api(grid, "GET", "/sessions/dash/history");
    expect(history.body.points.at(-1)).toMatchObject({ succeeded: 3, failed: 3, queued: 0 });

    // The fleet controller's passes read the (idle) batch pool every second.
    const fleet = await until(
      () => api(grid, "GET", "/fleet"),
      (r) => r.body.pools?.length > 0,
    );
    expect(fleet.body.pools).toEqual([
      expect.objectContaining({
        pool: "batch",
        queued: { high: 0, normal: 0, low: 0 },
        agents: { launching: 0, busy: 0, idle: 0, draining: 0 },
      }),
    ]);
  }, 120_000);
});
