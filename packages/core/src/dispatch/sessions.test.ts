import { describe, expect, it } from "vitest";
import type { FakeClock } from "../adapters/memory/clocks.ts";
import type { SessionConflictError } from "../errors.ts";
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

describe("creating a session again", () => {
  it("answers the same create with the stored session, and refuses other settings or tags, changing nothing", async () => {
    const grid = memoryGrid();
    const input = { sessionId: "again", config: { maxAttempts: 2, chunkMaxTasks: 8 }, tags: { desk: "fx" } };
    expect((await createSession(grid, "acme", input)).created).toBe(true);
    const again = await createSession(grid, "acme", input);
    expect(again).toMatchObject({
      created: false,
      session: { config: { maxAttempts: 2, chunkMaxTasks: 8 } },
    });
    // Naming nothing, or only what is stored, is the same create.
    expect((await createSession(grid, "acme", { sessionId: "again" })).created).toBe(false);
    expect(
      (await createSession(grid, "acme", { sessionId: "again", config: { maxAttempts: 2 } })).created,
    ).toBe(false);
    const refused = async (change: object) =>
      createSession(grid, "acme", { sessionId: "again", ...change }).then(
        () => undefined,
        (e: SessionConflictError) => [e.code, e.field, e.message],
      );
    expect(await refused({ config: { chunkMaxTasks: 64 } })).toEqual([
      "CONFLICT",
      "config.chunkMaxTasks",
      expect.stringContaining("already exists with chunkMaxTasks 8, not 64"),
    ]);
    expect(await refused({ config: { pool: "default", maxAttempts: 3 } })).toEqual([
      "CONFLICT",
      "config.maxAttempts",
      expect.any(String),
    ]);
    expect(await refused({ tags: { desk: "rates" } })).toEqual(["CONFLICT", "tags", expect.any(String)]);
    expect(await refused({ tags: { desk: "fx", book: "x" } })).toEqual([
      "CONFLICT",
      "tags",
      expect.any(String),
    ]);
    expect((await createSession(grid, "acme", { sessionId: "again", tags: {} })).created).toBe(false);
    // Another tenant's session of the same id is its own.
    expect((await createSession(grid, "other", { ...input, config: { maxAttempts: 5 } })).created).toBe(true);
    const stored = await getSession(grid, { tenant: "acme", sessionId: "again" });
    expect(stored.config).toMatchObject({ maxAttempts: 2, chunkMaxTasks: 8 });
    expect(stored.tags).toEqual({ desk: "fx" });
    expect(stored.version).toBe(again.session.version);
  });
});
