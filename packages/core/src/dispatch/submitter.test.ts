import { describe, expect, it } from "vitest";
import { uploadBlobKey } from "../engine/keys.ts";
import { ErrorCode, isGridError } from "../errors.ts";
import { Limits } from "../model/limits.ts";
import { decodeTicket } from "../model/ticket.ts";
import { memoryGrid } from "../testing/memory-grid.ts";
import { closeSession, createSession, getSession } from "./sessions.ts";
import { MAX_BATCH_GROUPS, submitTasks } from "./submitter.ts";
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

  it("tells an uploaded payload from an inline one, also inside a chunk of several tasks", async () => {
    const grid = memoryGrid();
    await createSession(grid, key.tenant, { sessionId: key.sessionId });
    const ref = "5f0c8a52-3c3e-4c55-9d0e-1b1f3d7c2a10";
    await grid.blobs.put(uploadBlobKey(key, ref), "big");
    await submitTasks(grid, key, { tasks: [{ index: 0 }, { index: 1, payload: "x" }] });
    const error = await rejection(
      submitTasks(grid, key, {
        tasks: [
          { index: 0, payloadRef: ref },
          { index: 1, payload: "x" },
        ],
      }),
    );
    expect(error).toMatchObject({ code: ErrorCode.CONFLICT, field: "tasks[0]" });
  });

  it("keeps, and sends the tickets of, the groups a batch stored before a rival took one of its groups", async () => {
    const grid = memoryGrid();
    await createSession(grid, key.tenant, { sessionId: key.sessionId });
    const g1 = Limits.GROUP_SIZE;
    const insert = grid.store.insertChunks.bind(grid.store);
    let raced = false;
    grid.store.insertChunks = async (session, group, version, chunks) => {
      if (!raced && group === 1) {
        raced = true; // a rival batch lands its own work in group 1 first
        await submitTasks(grid, key, { tasks: [{ index: g1, payload: "rival" }] });
      }
      return insert(session, group, version, chunks);
    };
    const error = await rejection(
      submitTasks(grid, key, {
        tasks: [
          { index: 0, payload: "a" },
          { index: g1, payload: "a" },
        ],
      }),
    );
    expect(error).toMatchObject({ code: ErrorCode.CONFLICT, field: "tasks[1]" });
    expect(error.message).toMatch(/1 tasks of this batch were stored before this was found/);
    expect((await getTask(grid, key, 0)).status).toBe("QUEUED");
    const sent = await grid.queue.receive(QUEUE, { max: 10, waitSeconds: 0, visibilitySeconds: 60 });
    expect(sent.map((t) => decodeTicket(t.body)?.start).sort((a, b) => a! - b!)).toEqual([0, g1]);
  });

  it("refuses a batch spread over more key groups than one request may write", async () => {
    const grid = memoryGrid();
    await createSession(grid, key.tenant, { sessionId: key.sessionId });
    const spread = Array.from({ length: MAX_BATCH_GROUPS + 1 }, (_, g) => ({ index: g * Limits.GROUP_SIZE }));
    const error = await rejection(submitTasks(grid, key, { tasks: spread }));
    expect(error).toMatchObject({ code: ErrorCode.VALIDATION, field: "tasks" });
    expect(error.message).toMatch(/at most 256 key groups/);
    expect((await grid.store.listGroups(key, undefined, 10)).groups).toEqual([]);
    await submitTasks(grid, key, { tasks: spread.slice(0, MAX_BATCH_GROUPS) });
    expect((await grid.store.getCounters(key)).tasks).toBe(MAX_BATCH_GROUPS);
  });

  it("stops writing once its request was answered as timed out", async () => {
    const grid = memoryGrid();
    await createSession(grid, key.tenant, { sessionId: key.sessionId });
    const timedOut = new AbortController();
    timedOut.abort(new Error("the API answered 503 TIMEOUT"));
    await expect(
      submitTasks(grid, key, { tasks: [{ index: 0 }] }, { signal: timedOut.signal }),
    ).rejects.toThrow("TIMEOUT");
    expect((await grid.store.getCounters(key)).tasks).toBe(0);
  });
});
