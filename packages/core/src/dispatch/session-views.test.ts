/**
 * The dashboard's session reads (filtered lists, summaries, history) on both task stores: the
 * memory one and DynamoDB Local, driven by the same fake clock.
 */
import { afterAll, describe, expect, inject, it } from "vitest";
import { FakeClock } from "../adapters/memory/clocks.ts";
import { HISTORY_MIN_SPACING_MS } from "../engine/history.ts";
import { newSessionRecord } from "../engine/records.ts";
import { DEFAULT_SESSION_CONFIG } from "../model/limits.ts";
import { type AwsTestGrid, provisionTestGrid } from "../testing/aws-test-grid.ts";
import { memoryGrid } from "../testing/memory-grid.ts";
import { Dispatcher } from "./dispatcher.ts";
import type { GridPorts } from "./grid-ports.ts";
import { reap } from "./reaper.ts";
import { readSessionHistory, recordSessionHistory } from "./session-history.ts";
import { LIST_SCAN_LIMIT, listSessionsWhere, summarizeSession } from "./session-list.ts";
import { closeSession, createSession, getSession } from "./sessions.ts";
import { submitTasks } from "./submitter.ts";

const QUEUE = "default-normal";
const aws: AwsTestGrid[] = [];
afterAll(() => {
  for (const g of aws.splice(0)) g.close();
});

const grids: [string, (clock: FakeClock) => Promise<GridPorts>][] = [
  ["memory", async (clock) => memoryGrid({ clock })],
  [
    "DynamoDB Local",
    async (clock) => {
      const g = await provisionTestGrid(inject("emulators"), { clock });
      aws.push(g);
      return g.ports;
    },
  ],
];

/** Runs up to `max` queued tickets of the session's queue to success. */
async function work(ports: GridPorts, max: number): Promise<void> {
  const d = new Dispatcher(ports, { owner: "w", runner: async () => "ok" });
  await d.accept(QUEUE, await ports.queue.receive(QUEUE, { max, waitSeconds: 0, visibilitySeconds: 60 }));
  await d.drain();
}

describe.each(grids)("session views (%s)", (_name, make) => {
  it("filters a tenant's sessions by state and tag, newest first, page by page", async () => {
    const clock = new FakeClock();
    const ports = await make(clock);
    for (const [i, desk] of ["rates", "fx", "rates", "rates", "fx"].entries()) {
      await createSession(ports, "acme", { sessionId: `s${i}`, tags: { desk } });
      clock.advance(1);
    }
    await createSession(ports, "other", { sessionId: "o1", tags: { desk: "rates" } });
    await closeSession(ports, { tenant: "acme", sessionId: "s2" });
    await closeSession(ports, { tenant: "acme", sessionId: "s4" });

    const rates = { key: "desk", value: "rates" };
    const ids = (p: { sessions: { sessionId: string }[] }) => p.sessions.map((s) => s.sessionId);
    const first = await listSessionsWhere(ports, "acme", { limit: 2, filter: { tag: rates } });
    expect(ids(first)).toEqual(["s3", "s2"]);
    const second = await listSessionsWhere(ports, "acme", {
      limit: 2,
      after: first.next,
      filter: { tag: rates },
    });
    expect(ids(second)).toEqual(["s0"]);
    expect(second.next).toBeUndefined();
    const closed = await listSessionsWhere(ports, "acme", { limit: 10, filter: { state: "CLOSED" } });
    expect(ids(closed)).toEqual(["s4", "s2"]);
    const both = await listSessionsWhere(ports, "acme", { limit: 10, filter: { state: "OPEN", tag: rates } });
    expect(ids(both)).toEqual(["s3", "s0"]);
    expect(ids(await listSessionsWhere(ports, "acme", { limit: 10 }))).toEqual([
      "s4",
      "s3",
      "s2",
      "s1",
      "s0",
    ]);
  });

  it("snapshots an active session's counts on reaper passes, spaced and only when they moved", async () => {
    const clock = new FakeClock();
    const ports = await make(clock);
    const key = { tenant: "acme", sessionId: "h1" };
    await createSession(ports, key.tenant, { sessionId: key.sessionId, config: { chunkMaxTasks: 2 } });
    await submitTasks(ports, key, { tasks: Array.from({ length: 8 }, (_, index) => ({ index })) });
    expect((await reap(ports)).snapshots).toBe(1);
    await work(ports, 2); // 4 tasks done
    expect((await reap(ports)).snapshots).toBe(0); // too soon after the last one
    clock.advance(HISTORY_MIN_SPACING_MS);
    expect((await reap(ports)).snapshots).toBe(1);
    clock.advance(HISTORY_MIN_SPACING_MS);
    expect((await reap(ports)).snapshots).toBe(0); // nothing moved
    expect(await recordSessionHistory(ports, await getSession(ports, key))).toBe(false);

    clock.advance(5_000);
    const history = await readSessionHistory(ports, key);
    // Two snapshots and the counts as they are now, oldest first.
    expect(history.points.map((p) => [p.at - history.points[0]!.at, p.queued, p.succeeded])).toEqual([
      [0, 8, 0],
      [10_000, 4, 4],
      [25_000, 4, 4],
    ]);
    expect(history).toMatchObject({ intervalSec: 13, complete: true });
  });

  it("summarizes a session: counts, progress, settled, cost and recent throughput", async () => {
    const clock = new FakeClock();
    const ports = await make(clock);
    const key = { tenant: "acme", sessionId: "sum" };
    await createSession(ports, key.tenant, { sessionId: key.sessionId, config: { chunkMaxTasks: 2 } });
    await submitTasks(ports, key, { tasks: Array.from({ length: 8 }, (_, index) => ({ index })) });
    await reap(ports); // snapshot: nothing finished
    clock.advance(40_000);
    await work(ports, 1);
    await reap(ports); // snapshot at 40 s: 2 finished
    clock.advance(40_000);
    await work(ports, 10);
    await closeSession(ports, key);
    await ports.store.addUsage(key, 0, { "lambda|gbs": 1_000 });
    const summary = await summarizeSession(ports, await getSession(ports, key));
    expect(summary).toMatchObject({
      counts: { total: 8, succeeded: 8, queued: 0 },
      progress: 1,
      settled: true,
      // Measured from the newest snapshot at least a minute old: the one at 0 s (the one at 40 s
      // is too recent), so 8 tasks over 80 s.
      throughputPerSec: 8 / 80,
    });
    expect(summary.costDollars).toBeGreaterThan(0);
  });

  it("has no history for another tenant's session", async () => {
    const ports = await make(new FakeClock());
    await createSession(ports, "acme", { sessionId: "mine" });
    await expect(readSessionHistory(ports, { tenant: "globex", sessionId: "mine" })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
  });
});

// The filter's bound is core logic over any store's pages (the paging itself is in the TaskStore
// contract): shown on the memory store, where 500 sessions cost nothing.
describe("session list bound", () => {
  it("reads at most LIST_SCAN_LIMIT sessions per call and says where to go on", async () => {
    const clock = new FakeClock();
    const ports = memoryGrid({ clock });
    const calls: number[] = [];
    const listSessions = ports.store.listSessions.bind(ports.store);
    // Counts how many sessions the filter reads; the store itself answers.
    const store = Object.create(ports.store) as typeof ports.store;
    store.listSessions = async (tenant, limit, after) => {
      const page = await listSessions(tenant, limit, after);
      calls.push(page.sessions.length);
      return page;
    };
    for (let i = 0; i < LIST_SCAN_LIMIT + 5; i++) {
      const record = newSessionRecord(
        { tenant: "acme", sessionId: `s${i}` },
        DEFAULT_SESSION_CONFIG,
        {},
        clock.now() + i,
      );
      await ports.store.createSession({ ...record, tags: { n: String(i) } });
    }
    const filtered = await listSessionsWhere({ ...ports, store }, "acme", {
      limit: 5,
      filter: { tag: { key: "n", value: "0" } },
    });
    expect(filtered.sessions).toEqual([]);
    expect(calls.reduce((a, b) => a + b, 0)).toBe(LIST_SCAN_LIMIT);
    const rest = await listSessionsWhere(ports, "acme", {
      limit: 5,
      after: filtered.next,
      filter: { tag: { key: "n", value: "0" } },
    });
    expect(rest.sessions.map((s) => s.sessionId)).toEqual(["s0"]);
  });
});
