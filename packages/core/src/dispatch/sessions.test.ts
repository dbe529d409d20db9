import { describe, expect, it } from "vitest";
import type { FakeClock } from "../adapters/memory/clocks.ts";
import { Limits } from "../model/limits.ts";
import { memoryGrid } from "../testing/memory-grid.ts";
import { reap } from "./reaper.ts";
import {
  CLOSE_GRACE_MS,
  closeSession,
  createSession,
  getSession,
  isSessionSealed,
  SEAL_GROUPS_PER_CALL,
} from "./sessions.ts";
import { MAX_BATCH_GROUPS, submitTasks } from "./submitter.ts";

const key = { tenant: "acme", sessionId: "seal" };

describe("sealing a session", () => {
  it("seals a small session's groups in the close itself", async () => {
    const grid = memoryGrid();
    await createSession(grid, key.tenant, { sessionId: key.sessionId });
    await submitTasks(grid, key, { tasks: [{ index: 0 }, { index: 5 * Limits.GROUP_SIZE }] });
    const closed = await closeSession(grid, key);
    expect(closed).toMatchObject({ state: "CLOSED", sealed: true });
    expect(closed.sealCursor).toBeUndefined();
    expect(await grid.store.getGroup(key, 5)).toMatchObject({ sealed: true });
    expect(isSessionSealed(closed, grid.clock.now())).toBe(true);
  });

  it("seals a session spread over more groups than one call seals across calls, keeping its place", async () => {
    const grid = memoryGrid();
    const clock = grid.clock as FakeClock;
    await createSession(grid, key.tenant, { sessionId: key.sessionId });
    const groups = SEAL_GROUPS_PER_CALL + 50;
    const tasks = Array.from({ length: groups }, (_, g) => ({ index: g * Limits.GROUP_SIZE }));
    for (let i = 0; i < groups; i += MAX_BATCH_GROUPS)
      await submitTasks(grid, key, { tasks: tasks.slice(i, i + MAX_BATCH_GROUPS) });
    const closed = await closeSession(grid, key);
    expect(closed.sealed).toBe(false);
    expect(closed.sealCursor).toBe(SEAL_GROUPS_PER_CALL - 1);
    expect(await grid.store.getGroup(key, SEAL_GROUPS_PER_CALL - 1)).toMatchObject({ sealed: true });
    expect(await grid.store.getGroup(key, SEAL_GROUPS_PER_CALL)).toMatchObject({ sealed: false });
    // Not sealed yet: readers wait out the grace (a submit may still land in an unsealed group).
    expect(isSessionSealed(closed, clock.now() + CLOSE_GRACE_MS - 1)).toBe(false);
    await reap(grid);
    const after = await getSession(grid, key);
    expect(after).toMatchObject({ sealed: true, sealCursor: undefined });
    expect(after.updatedAt).toBe(closed.updatedAt); // sealing is not a change of state
    expect(await grid.store.getGroup(key, groups - 1)).toMatchObject({ sealed: true });
  });
});
