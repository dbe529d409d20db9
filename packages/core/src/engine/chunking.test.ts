import { describe, expect, it } from "vitest";
import { ErrorCode, ValidationError } from "../errors.ts";
import type { TaskInput } from "../model/task.ts";
import { byteLength, planChunks } from "./chunking.ts";

const wide = { maxTasks: 64, maxBytes: 48 * 1024 };

/** Tasks at `indexes`, each with payload `p{index}` unless `payloads` says otherwise. */
function tasks(indexes: number[], payloads?: (string | undefined)[]): TaskInput[] {
  return indexes.map((index, i) => ({ index, payload: payloads ? payloads[i] : `p${index}` }));
}

/** The chunks as [start, count, bytes]. */
function shape(input: readonly TaskInput[], bounds = wide): [number, number, number][] {
  return planChunks(input, bounds).map((c) => [c.start, c.payloads.length, c.bytes]);
}

describe("byteLength", () => {
  it.each([
    { text: "", bytes: 0 },
    { text: "abc", bytes: 3 },
    { text: "é", bytes: 2 },
    { text: "€", bytes: 3 },
    { text: "😀", bytes: 4 },
  ])("$text is $bytes bytes", ({ text, bytes }) => {
    expect(byteLength(text)).toBe(bytes);
  });
});

describe("planChunks", () => {
  it.each<{
    name: string;
    input: TaskInput[];
    bounds?: { maxTasks: number; maxBytes: number };
    chunks: [number, number, number][];
  }>([
    { name: "consecutive tasks within bounds", input: tasks([0, 1, 2]), chunks: [[0, 3, 6]] },
    { name: "a single task", input: tasks([41]), chunks: [[41, 1, 3]] },
    {
      name: "an index gap",
      input: tasks([0, 1, 3, 4]),
      chunks: [
        [0, 2, 4],
        [3, 2, 4],
      ],
    },
    {
      name: "gaps everywhere",
      input: tasks([2, 4, 6]),
      chunks: [
        [2, 1, 2],
        [4, 1, 2],
        [6, 1, 2],
      ],
    },
    {
      name: "a key-group boundary",
      input: tasks([4_094, 4_095, 4_096, 4_097], ["a", "b", "c", "d"]),
      chunks: [
        [4_094, 2, 2],
        [4_096, 2, 2],
      ],
    },
    {
      name: "maxTasks",
      input: tasks([0, 1, 2, 3, 4], ["a", "b", "c", "d", "e"]),
      bounds: { maxTasks: 2, maxBytes: 1_000 },
      chunks: [
        [0, 2, 2],
        [2, 2, 2],
        [4, 1, 1],
      ],
    },
    {
      name: "maxTasks of 1",
      input: tasks([7, 8], ["a", "b"]),
      bounds: { maxTasks: 1, maxBytes: 1_000 },
      chunks: [
        [7, 1, 1],
        [8, 1, 1],
      ],
    },
    {
      name: "maxBytes, filled exactly",
      input: tasks([0, 1, 2, 3], ["aaaa", "bbbb", "cc", "d"]),
      bounds: { maxTasks: 64, maxBytes: 10 },
      chunks: [
        [0, 3, 10],
        [3, 1, 1],
      ],
    },
    {
      name: "a task larger than maxBytes travels alone",
      input: tasks([0, 1, 2], ["ab", "0123456789", "c"]),
      bounds: { maxTasks: 64, maxBytes: 5 },
      chunks: [
        [0, 1, 2],
        [1, 1, 10],
        [2, 1, 1],
      ],
    },
    {
      name: "a task larger than maxBytes first, then an empty one",
      input: tasks([0, 1], ["0123456789", undefined]),
      bounds: { maxTasks: 64, maxBytes: 5 },
      chunks: [
        [0, 1, 10],
        [1, 1, 0],
      ],
    },
    {
      name: "bytes counted in UTF-8",
      input: tasks([0, 1, 2], ["é", "é", "é"]),
      bounds: { maxTasks: 64, maxBytes: 5 },
      chunks: [
        [0, 2, 4],
        [2, 1, 2],
      ],
    },
    {
      name: "tasks without payloads weigh nothing",
      input: tasks([0, 1, 2], [undefined, undefined, undefined]),
      bounds: { maxTasks: 64, maxBytes: 1_024 },
      chunks: [[0, 3, 0]],
    },
    {
      name: "unsorted input",
      input: tasks([3, 1, 0, 2, 10, 9]),
      chunks: [
        [0, 4, 8],
        [9, 2, 5],
      ],
    },
  ])("cuts at $name", ({ input, bounds, chunks }) => {
    expect(shape(input, bounds)).toEqual(chunks);
  });

  it("keeps payloads in index order, with null for a task without one", () => {
    const input: TaskInput[] = [{ index: 12 }, { index: 10, payload: "x" }, { index: 11, payload: "" }];
    expect(planChunks(input, wide)).toEqual([{ start: 10, payloads: ["x", "", null], bytes: 1 }]);
  });

  it("never puts more than maxTasks or, with several tasks, more than maxBytes in a chunk", () => {
    const input = Array.from({ length: 9_000 }, (_, i) => ({
      index: i * 2 < 9_000 ? i : i + 5,
      payload: "x".repeat(i % 37),
    }));
    const bounds = { maxTasks: 50, maxBytes: 600 };
    const chunks = planChunks(input, bounds);
    let total = 0;
    for (const c of chunks) {
      total += c.payloads.length;
      expect(c.payloads.length).toBeLessThanOrEqual(bounds.maxTasks);
      if (c.payloads.length > 1) expect(c.bytes).toBeLessThanOrEqual(bounds.maxBytes);
      expect(Math.floor(c.start / 4_096)).toBe(Math.floor((c.start + c.payloads.length - 1) / 4_096));
      expect(c.bytes).toBe(c.payloads.reduce((n, p) => n + (p ? byteLength(p) : 0), 0));
    }
    expect(total).toBe(input.length);
  });

  it("is deterministic: the same batch, in any order, yields the same chunks", () => {
    const input = tasks([5, 6, 7, 8, 20, 21, 4_095, 4_096, 4_097]);
    const bounds = { maxTasks: 3, maxBytes: 1_000 };
    const first = planChunks(input, bounds);
    expect(planChunks(input, bounds)).toEqual(first);
    expect(planChunks([...input].reverse(), bounds)).toEqual(first);
    expect(planChunks([...input.slice(4), ...input.slice(0, 4)], bounds)).toEqual(first);
  });

  it("does not reorder the caller's array", () => {
    const input = tasks([3, 1, 2]);
    planChunks(input, wide);
    expect(input.map((t) => t.index)).toEqual([3, 1, 2]);
  });

  it.each([
    { name: "adjacent duplicates", indexes: [0, 1, 1] },
    { name: "duplicates around another task", indexes: [1, 0, 1] },
    { name: "duplicates that sort apart from their positions", indexes: [5, 5, 1] },
    { name: "duplicates at the end of an unsorted batch", indexes: [9, 3, 4, 3] },
  ])("rejects $name with a ValidationError naming a duplicated task's index field", ({ indexes }) => {
    let error: unknown;
    try {
      planChunks(tasks(indexes), wide);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    const v = error as ValidationError;
    expect(v.code).toBe(ErrorCode.VALIDATION);
    const position = /^tasks\[(\d+)\]\.index$/.exec(v.field);
    expect(position, v.field).not.toBeNull();
    // The named field must be a task of the submitted batch that carries the duplicated index.
    const named = indexes[Number(position![1])];
    expect(indexes.filter((i) => i === named).length, `${v.field} is index ${named}`).toBe(2);
  });

  it("puts a task with an uploaded payload in a chunk of its own", () => {
    const chunks = planChunks(
      [{ index: 0, payload: "a" }, { index: 1, payloadRef: "u1" }, { index: 2, payload: "b" }, { index: 3 }],
      { maxTasks: 64, maxBytes: 1024 },
    );
    expect(chunks.map((c) => [c.start, c.payloads.length, c.ref])).toEqual([
      [0, 1, undefined],
      [1, 1, "u1"],
      [2, 2, undefined],
    ]);
  });
});
