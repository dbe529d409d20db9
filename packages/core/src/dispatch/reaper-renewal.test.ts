/**
 * The reaper's renewal of the items a session's tasks do not rewrite (their expiry): over a
 * whole cycle of windows, the session record last. DynamoDB's side is tested on DynamoDB
 * Local (adapters/aws/dynamo-expiry.test.ts); here a store that says `renewDue` on demand.
 */
import { describe, expect, it } from "vitest";
import type { FakeClock } from "../adapters/memory/clocks.ts";
import { Limits } from "../model/limits.ts";
import { memoryGrid } from "../testing/memory-grid.ts";
import { REAP_GROUPS_PER_PASS, reap, type SessionWalk } from "./reaper.ts";
import { createSession } from "./sessions.ts";
import { submitTasks } from "./submitter.ts";

const key = { tenant: "acme", sessionId: "renew" };

describe("reaper renewal of expiring items", () => {
  it("renews every group over a cycle of windows, then the session, and starts over after a failed window", async () => {
    const grid = memoryGrid();
    const clock = grid.clock as FakeClock;
    await createSession(grid, key.tenant, { sessionId: key.sessionId });
    const groups = REAP_GROUPS_PER_PASS + 44;
    const tasks = Array.from({ length: groups }, (_, g) => ({ index: g * Limits.GROUP_SIZE }));
    for (let i = 0; i < tasks.length; i += 100)
      await submitTasks(grid, key, { tasks: tasks.slice(i, i + 100) });

    let due = true;
    let failNext = false;
    const renewed: number[] = [];
    const marks: number[] = [];
    const getSession = grid.store.getSession.bind(grid.store);
    grid.store.getSession = async (k) => {
      const s = await getSession(k);
      return s && (due ? { ...s, renewDue: true } : s);
    };
    grid.store.renewGroups = async (_s, list) => {
      if (failNext) {
        failNext = false;
        throw new Error("throttled");
      }
      renewed.push(...list);
    };
    grid.store.renewSession = async (_s, since) => {
      marks.push(since);
      due = false;
    };
    const all = tasks.map((_, g) => g);

    // A cycle over two passes: the session is marked once every group was renewed, as of the
    // cycle's start.
    const walks = new Map<string, SessionWalk>();
    const start = clock.now();
    await reap(grid, { walks });
    expect(renewed).toEqual(all.slice(0, REAP_GROUPS_PER_PASS));
    expect(marks).toEqual([]);
    clock.advance(60_000);
    await reap(grid, { walks });
    expect(renewed).toEqual(all);
    expect(marks).toEqual([start]);

    // A window whose renewal failed: that cycle marks nothing, the next one renews it all again.
    due = true;
    renewed.length = 0;
    clock.advance(60_000);
    const second = clock.now();
    await reap(grid, { walks });
    failNext = true;
    clock.advance(60_000);
    expect(await reap(grid, { walks })).toMatchObject({ errors: 1 });
    expect(marks).toEqual([start]);
    renewed.length = 0;
    clock.advance(60_000);
    const third = clock.now();
    await reap(grid, { walks });
    clock.advance(60_000);
    await reap(grid, { walks });
    expect(renewed).toEqual(all);
    expect(marks).toEqual([start, third]);
    expect(third).toBeGreaterThan(second);

    // Not due: nothing is renewed.
    renewed.length = 0;
    for (let pass = 0; pass < 2; pass++) await reap(grid, { walks });
    expect(renewed).toEqual([]);
    expect(marks).toHaveLength(2);
  });
});
