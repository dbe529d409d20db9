import { describe, expect, it } from "vitest";
import { ErrorCode, isGridError } from "../errors.ts";
import { Limits } from "../model/limits.ts";
import { memoryGrid } from "../testing/memory-grid.ts";
import { closeSession, createSession, getSession } from "./sessions.ts";
import { submitTasks } from "./submitter.ts";
import { getTask } from "./tasks.ts";

const QUEUE = "default-normal";
const key = { tenant: "acme", sessionId: "sub" };

async function rejection(p: Promise<unknown>): Promise<{ code: string; message: string; field?: string }> {
  try {
    await p;
  } catch (error) {
    if (isGridError(error)) return error as never;
    throw error;
  }
  throw new Error("expected a rejection");
}

describe("submit", () => {
  it.each([
    ["an empty batch", { tasks: [] }, "tasks"],
    ["a negative index", { tasks: [{ index: -1 }] }, "tasks[0].index"],
    ["a fractional index", { tasks: [{ index: 0 }, { index: 1.5 }] }, "tasks[1].index"],
    ["a non-string payload", { tasks: [{ index: 0, payload: 42 }] }, "tasks[0].payload"],
    ["an unknown field", { tasks: [{ index: 0 }], priority: "urgent" }, "body"],
    ["a duplicate index", { tasks: [{ index: 3 }, { index: 1 }, { index: 3 }] }, "tasks[2].index"],
    ["a bad handler name", { handler: "no spaces", tasks: [{ index: 0 }] }, "handler"],
  ])("rejects %s with a validation error naming the field, and changes nothing", async (_, body, field) => {
    const grid = memoryGrid();
    await createSession(grid, key.tenant, { sessionId: key.sessionId });
    const error = await rejection(submitTasks(grid, key, body));
    expect(error.code).toBe(ErrorCode.VALIDATION);
    expect(error.field).toBe(field);
    expect(grid.queue.depth(QUEUE)).toBe(0);
    expect(grid.blobs.size).toBe(0);
    expect(await grid.store.listGroups(key, undefined, 10)).toEqual({ groups: [] });
  });

  it("rejects a payload over the size limit as too large", async () => {
    const grid = memoryGrid();
    await createSession(grid, key.tenant, { sessionId: key.sessionId });
    const error = await rejection(
      submitTasks(grid, key, { tasks: [{ index: 0, payload: "x".repeat(Limits.MAX_TASK_BYTES + 1) }] }),
    );
    expect(error).toMatchObject({ code: ErrorCode.TOO_LARGE, field: "tasks[0].payload" });
    expect(grid.queue.depth(QUEUE)).toBe(0);
  });

  it("refuses indexes stored with other work (409 naming the first one), before writing anything", async () => {
    const grid = memoryGrid();
    await createSession(grid, key.tenant, { sessionId: key.sessionId, config: { chunkMaxTasks: 8 } });
    const first = Array.from({ length: 8 }, (_, i) => ({ index: i, payload: `a${i}` }));
    await submitTasks(grid, key, { tasks: first });
    const depth = grid.queue.depth(QUEUE);
    const error = await rejection(
      submitTasks(grid, key, {
        tasks: [{ index: 20 }, { index: 5, payload: "b5" }, { index: 4, payload: "a4" }],
      }),
    );
    expect(error).toMatchObject({ code: ErrorCode.CONFLICT, field: "tasks[1]" });
    expect(error.message).toMatch(/task 5 was already submitted with another payload/);
    expect(grid.queue.depth(QUEUE)).toBe(depth);
    await expect(getTask(grid, key, 20)).rejects.toMatchObject({ code: ErrorCode.NOT_FOUND });
    // Another handler is other work too; the same work in other batch bounds is accepted.
    const other = await rejection(submitTasks(grid, key, { handler: "render", tasks: first.slice(0, 2) }));
    expect(other).toMatchObject({ code: ErrorCode.CONFLICT, field: "tasks[0]" });
    expect(
      await submitTasks(grid, key, { tasks: [...first.slice(3, 6), { index: 8, payload: "n" }] }),
    ).toMatchObject({
      created: 1,
      existing: 3,
    });
  });

  it("re-sends the tickets of an earlier try whose tickets never went out", async () => {
    const grid = memoryGrid();
    await createSession(grid, key.tenant, { sessionId: key.sessionId });
    const send = grid.queue.send.bind(grid.queue);
    grid.queue.send = async () => {
      throw new Error("network down");
    };
    const batch = { tasks: [{ index: 0, payload: "a" }] };
    await expect(submitTasks(grid, key, batch)).rejects.toThrow("network down");
    grid.queue.send = send;
    expect(await submitTasks(grid, key, batch)).toMatchObject({ created: 0, existing: 1, tickets: 1 });
    expect(grid.queue.depth(QUEUE)).toBe(1);
  });

  it("refuses tasks for a closed session, and for another tenant's session", async () => {
    const grid = memoryGrid();
    await createSession(grid, key.tenant, { sessionId: key.sessionId });
    const other = await rejection(
      submitTasks(grid, { tenant: "intruder", sessionId: key.sessionId }, { tasks: [{ index: 0 }] }),
    );
    expect(other.code).toBe(ErrorCode.NOT_FOUND);
    await closeSession(grid, key);
    const closed = await rejection(submitTasks(grid, key, { tasks: [{ index: 0 }] }));
    expect(closed.code).toBe(ErrorCode.SESSION_NOT_OPEN);
  });

  it("lists only the groups that hold tasks in the session's directory", async () => {
    const grid = memoryGrid();
    await createSession(grid, key.tenant, { sessionId: key.sessionId });
    await submitTasks(grid, key, {
      tasks: [{ index: 2 * Limits.GROUP_SIZE + 5 }, { index: 999_999_999_999 }],
    });
    expect((await grid.store.listGroups(key, undefined, 10)).groups).toEqual([2, 244_140_624]);
    expect((await getTask(grid, key, 2 * Limits.GROUP_SIZE + 5)).status).toBe("QUEUED");
  });

  it.each([
    ["an existing group", [0]],
    ["a new group", [Limits.GROUP_SIZE]],
  ])("refuses a submit that read the session open but writes after the close (%s)", async (_, second) => {
    const grid = memoryGrid();
    await createSession(grid, key.tenant, { sessionId: key.sessionId });
    await submitTasks(grid, key, { tasks: [{ index: 1 }] });
    // The close lands between the submit's reads and its insert (a slow request at close).
    const insert = grid.store.insertChunks.bind(grid.store);
    let closed = false;
    grid.store.insertChunks = async (...args) => {
      if (!closed) {
        closed = true;
        await closeSession(grid, key);
      }
      return insert(...args);
    };
    const error = await rejection(submitTasks(grid, key, { tasks: second.map((index) => ({ index })) }));
    expect(error.code).toBe(ErrorCode.SESSION_NOT_OPEN);
    expect((await grid.store.getCounters(key)).tasks).toBe(1);
    expect((await getSession(grid, key)).sealed).toBe(true);
  });
});
