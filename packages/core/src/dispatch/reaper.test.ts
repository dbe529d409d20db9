import { describe, expect, it } from "vitest";
import type { FakeClock } from "../adapters/memory/clocks.ts";
import { Limits } from "../model/limits.ts";
import { encodeTicket } from "../model/ticket.ts";
import { memoryGrid } from "../testing/memory-grid.ts";
import { Dispatcher } from "./dispatcher.ts";
import { getSessionProgress } from "./progress.ts";
import { IDLE_SESSION_MS, REAP_GROUPS_PER_PASS, reap, type SessionWalk } from "./reaper.ts";
import { cancelSession, closeSession, createSession } from "./sessions.ts";
import { submitTasks } from "./submitter.ts";
import { getTask } from "./tasks.ts";

const QUEUE = "default-normal";
const key = { tenant: "acme", sessionId: "reap" };

describe("reaper", () => {
  it("re-drives an expired lease whose ticket is gone", async () => {
    const grid = memoryGrid({ timing: { leaseGraceMs: 1_000 } });
    const clock = grid.clock as FakeClock;
    await createSession(grid, key.tenant, { sessionId: key.sessionId, config: { leaseMs: 5_000 } });
    await submitTasks(grid, key, { tasks: [{ index: 0, payload: "p" }] });
    const tickets = await grid.queue.receive(QUEUE, { max: 10, waitSeconds: 0, visibilitySeconds: 60 });
    const crashed = new Dispatcher(grid, { owner: "dead", runner: () => new Promise(() => {}) });
    await crashed.accept(QUEUE, tickets);
    crashed.crash();
    await grid.queue.ack(
      QUEUE,
      tickets.map((t) => t.receipt),
    );
    expect(await reap(grid)).toMatchObject({ redriven: 0 });
    clock.advance(6_100);
    expect(await reap(grid)).toMatchObject({ redriven: 1 });
    expect(await reap(grid)).toMatchObject({ redriven: 0 }); // pushed out: no flood of duplicates
    // Work that had started goes to the pool's high-priority queue, ahead of any backlog.
    expect([grid.queue.depth(QUEUE), grid.queue.depth("default-high")]).toEqual([0, 1]);
    const d = new Dispatcher(grid, { owner: "alive", runner: async () => "ok" });
    await d.accept(
      "default-high",
      await grid.queue.receive("default-high", { max: 10, waitSeconds: 0, visibilitySeconds: 60 }),
    );
    await d.drain();
    // The dead worker's run was never committed: it cost the task no attempt.
    expect(await getTask(grid, key, 0)).toMatchObject({ status: "SUCCEEDED", attempt: 1 });
  });

  it("queues again the tasks of a dead-lettered ticket (a fresh ticket), and leaves the DLQ empty", async () => {
    const grid = memoryGrid();
    await createSession(grid, key.tenant, { sessionId: key.sessionId });
    await submitTasks(grid, key, { tasks: [{ index: 0 }, { index: 1 }] });
    const [ticket] = await grid.queue.receive(QUEUE, { max: 1, waitSeconds: 0, visibilitySeconds: 60 });
    await grid.queue.ack(QUEUE, [ticket!.receipt]);
    await grid.queue.send(`${QUEUE}-dlq`, [{ body: ticket!.body }, { body: "not a ticket" }]);
    // Received 50 times without being done (throttling, say): that is no reason to fail a task.
    const report = await reap(grid);
    expect(report).toMatchObject({ deadLettered: 0, deadLetterMessages: 2, redriven: 1 });
    expect(grid.queue.depth(`${QUEUE}-dlq`)).toBe(0);
    expect(await getTask(grid, key, 1)).toMatchObject({ status: "QUEUED", attempt: 0 });
    const d = new Dispatcher(grid, { owner: "w", runner: async () => "ok" });
    await d.accept(
      QUEUE,
      await grid.queue.receive(QUEUE, { max: 10, waitSeconds: 0, visibilitySeconds: 60 }),
    );
    await d.drain();
    expect(await getTask(grid, key, 1)).toMatchObject({ status: "SUCCEEDED", attempt: 1 });
  });

  it("fails a dead-lettered task whose attempts are used up: its last run started and never ended", async () => {
    const grid = memoryGrid({ timing: { leaseGraceMs: 1_000 } });
    const clock = grid.clock as FakeClock;
    await createSession(grid, key.tenant, {
      sessionId: key.sessionId,
      config: { leaseMs: 5_000, maxAttempts: 1 },
    });
    await submitTasks(grid, key, { tasks: [{ index: 0 }] });
    const receive = () => grid.queue.receive(QUEUE, { max: 1, waitSeconds: 0, visibilitySeconds: 1 });
    // Two workers die running it; the second one's lease was careful: its run was charged.
    for (const owner of ["first", "second"]) {
      const tickets = await receive();
      const dying = new Dispatcher(grid, { owner, runner: () => new Promise(() => {}) });
      await dying.accept(QUEUE, tickets);
      dying.crash();
      clock.advance(5_001);
    }
    expect(await getTask(grid, key, 0)).toMatchObject({ attempt: 1 });
    const [last] = await receive();
    await grid.queue.ack(QUEUE, [last!.receipt]);
    await grid.queue.send(`${QUEUE}-dlq`, [{ body: last!.body }]);
    expect(await reap(grid)).toMatchObject({ deadLettered: 1, redriven: 0 });
    expect(await getTask(grid, key, 0)).toMatchObject({
      status: "FAILED",
      attempt: 1,
      error: { code: "DEAD_LETTERED" },
    });
  });

  it("leaves a dead-lettered ticket of a chunk under a live lease alone", async () => {
    const grid = memoryGrid();
    await createSession(grid, key.tenant, { sessionId: key.sessionId });
    await submitTasks(grid, key, { tasks: [{ index: 0 }] });
    const tickets = await grid.queue.receive(QUEUE, { max: 1, waitSeconds: 0, visibilitySeconds: 60 });
    const d = new Dispatcher(grid, { owner: "w", runner: () => new Promise(() => {}) });
    await d.accept(QUEUE, tickets);
    await grid.queue.send(`${QUEUE}-dlq`, [{ body: encodeTicket({ ...key, start: 0, count: 1 }) }]);
    expect(await reap(grid)).toMatchObject({ deadLettered: 0, deadLetterMessages: 1 });
    expect((await getTask(grid, key, 0)).status).toBe("LEASED");
  });

  it("drops a closed session from the active index once it has settled", async () => {
    const grid = memoryGrid();
    await createSession(grid, key.tenant, { sessionId: key.sessionId });
    await submitTasks(grid, key, { tasks: [{ index: 0 }] });
    await closeSession(grid, key);
    expect(await reap(grid)).toMatchObject({ sessions: 1, deactivated: 0 });
    const d = new Dispatcher(grid, { owner: "w", runner: async () => "ok" });
    await d.accept(
      QUEUE,
      await grid.queue.receive(QUEUE, { max: 10, waitSeconds: 0, visibilitySeconds: 60 }),
    );
    await d.drain();
    // Not yet: a submit that read the session as OPEN may still be writing chunks.
    expect(await reap(grid)).toMatchObject({ sessions: 1, deactivated: 0 });
    (grid.clock as FakeClock).advance(grid.timing.ticketGraceMs + 1);
    expect(await reap(grid)).toMatchObject({ sessions: 1, deactivated: 1 });
    expect(await reap(grid)).toMatchObject({ sessions: 0 });
  });

  it("covers a session spread over many groups in bounded passes that resume where the last stopped", async () => {
    const grid = memoryGrid({ timing: { ticketGraceMs: 60_000 } });
    const clock = grid.clock as FakeClock;
    await createSession(grid, key.tenant, { sessionId: key.sessionId });
    const groups = 600;
    const tasks = Array.from({ length: groups }, (_, g) => ({ index: g * Limits.GROUP_SIZE * 7 }));
    for (let i = 0; i < tasks.length; i += 100)
      await submitTasks(grid, key, { tasks: tasks.slice(i, i + 100) });
    // Every ticket is lost: each chunk waits for the reaper.
    for (;;) {
      const lost = await grid.queue.receive(QUEUE, { max: 10, waitSeconds: 0, visibilitySeconds: 600 });
      if (lost.length === 0) break;
      await grid.queue.ack(
        QUEUE,
        lost.map((t) => t.receipt),
      );
    }
    clock.advance(61_000);
    // Count what each pass asks the store: it must follow the window, not the session's spread.
    const calls = { due: 0, directory: 0 };
    const listDue = grid.store.listDueChunks.bind(grid.store);
    const listGroups = grid.store.listGroups.bind(grid.store);
    grid.store.listDueChunks = (...a) => {
      calls.due++;
      return listDue(...a);
    };
    grid.store.listGroups = (...a) => {
      calls.directory++;
      return listGroups(...a);
    };
    const walks = new Map<string, SessionWalk>();
    const passes: number[] = [];
    for (let pass = 0; pass < 3; pass++) {
      calls.due = 0;
      calls.directory = 0;
      passes.push((await reap(grid, { walks })).redriven);
      expect(calls.due).toBeLessThanOrEqual(REAP_GROUPS_PER_PASS);
      expect(calls.directory).toBe(1);
    }
    expect(passes.every((n) => n <= REAP_GROUPS_PER_PASS)).toBe(true);
    expect(passes.reduce((a, b) => a + b, 0)).toBe(groups); // every group once, over three passes
    expect(grid.queue.depth(QUEUE)).toBe(groups);
    // Once every task is finished and the session sealed and quiet, one whole cycle of windows
    // without a pending chunk drops it from the active sessions.
    await cancelSession(grid, key); // walks 512 groups itself; the reaper's windows do the rest
    clock.advance(61_000);
    let deactivated = 0;
    for (let pass = 0; pass < 8 && deactivated === 0; pass++)
      deactivated = (await reap(grid, { walks })).deactivated;
    expect(deactivated).toBe(1);
    expect((await getSessionProgress(grid, key)).counts).toMatchObject({ total: groups, cancelled: groups });
  });
});

describe("reaper at scale", () => {
  const run = async (grid: ReturnType<typeof memoryGrid>) => {
    const d = new Dispatcher(grid, { owner: "w", runner: async () => "ok" });
    await d.accept(
      QUEUE,
      await grid.queue.receive(QUEUE, { max: 10, waitSeconds: 0, visibilitySeconds: 60 }),
    );
    await d.drain();
  };
  const active = async (grid: ReturnType<typeof memoryGrid>) => {
    const keys = [];
    for (let shard = 0; shard < 16; shard++) keys.push(...(await grid.store.listActiveSessions(shard)));
    return keys;
  };

  it("drops an idle open session from the active index, and its next submit puts it back", async () => {
    const grid = memoryGrid();
    const clock = grid.clock as FakeClock;
    await createSession(grid, key.tenant, { sessionId: key.sessionId });
    await submitTasks(grid, key, { tasks: [{ index: 0 }] });
    await run(grid);
    expect(await reap(grid)).toMatchObject({ sessions: 1, deactivated: 0 }); // submitted a moment ago
    clock.advance(IDLE_SESSION_MS + 1);
    expect(await reap(grid)).toMatchObject({ sessions: 1, deactivated: 1 });
    expect(await active(grid)).toEqual([]);
    expect(await reap(grid)).toMatchObject({ sessions: 0 }); // an idle session costs a pass nothing
    // The next submit puts it back, and the reaper again re-drives what needs it.
    await submitTasks(grid, key, { tasks: [{ index: 1 }] });
    expect(await active(grid)).toEqual([key]);
    const [lost] = await grid.queue.receive(QUEUE, { max: 1, waitSeconds: 0, visibilitySeconds: 60 });
    await grid.queue.ack(QUEUE, [lost!.receipt]);
    clock.advance(grid.timing.ticketGraceMs + 1);
    expect(await reap(grid)).toMatchObject({ sessions: 1, redriven: 1, deactivated: 0 });
  });

  it("keeps an idle-looking session a submit marked while the pass ran", async () => {
    const grid = memoryGrid();
    const clock = grid.clock as FakeClock;
    await createSession(grid, key.tenant, { sessionId: key.sessionId });
    clock.advance(IDLE_SESSION_MS + 1);
    const store = grid.store;
    // The submit marks the session just after the reaper read it.
    const racing = {
      ...grid,
      store: new Proxy(store, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver);
          if (prop !== "getSession") return typeof value === "function" ? value.bind(target) : value;
          return async (k: typeof key) => {
            const read = await target.getSession(k);
            await target.touchSession(k, clock.now());
            return read;
          };
        },
      }),
    };
    expect(await reap(racing)).toMatchObject({ sessions: 1 });
    expect(await active(grid)).toEqual([key]);
  });

  it("stops starting sessions when its time is up, and the next pass starts where it stopped", async () => {
    const grid = memoryGrid();
    const clock = grid.clock as FakeClock;
    const ids = Array.from({ length: 40 }, (_, i) => `s${String(i).padStart(2, "0")}`);
    for (const sessionId of ids) await createSession(grid, key.tenant, { sessionId });
    // Every session read takes 100 ms of the pass's time; the reads say which sessions a pass reached.
    const reads: string[] = [];
    const slow = {
      ...grid,
      store: new Proxy(grid.store, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver);
          if (typeof value !== "function") return value;
          return (...args: unknown[]) => {
            if (prop === "getSession") {
              clock.advance(100);
              reads.push((args[0] as typeof key).sessionId);
            }
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      }),
    };
    const resume = {};
    const first = await reap(slow, { budgetMs: 1_000, resume });
    expect(first.sessions).toBeLessThan(ids.length);
    expect(first.deferred).toBe(ids.length - first.sessions);
    // Passes go on where the last stopped: every session is reached once before any twice.
    while (reads.length < ids.length) await reap(slow, { budgetMs: 1_000, resume });
    expect(new Set(reads.slice(0, ids.length)).size).toBe(ids.length);
    // Without a budget, one pass reaches them all.
    reads.length = 0;
    expect(await reap(slow)).toMatchObject({ sessions: ids.length, deferred: 0 });
  });
});
