import { describe, expect, it } from "vitest";
import { FakeClock } from "../adapters/memory/clocks.ts";
import { attachCompletion } from "../engine/completions.ts";
import { completionSk } from "../engine/keys.ts";
import type { ChunkRecord } from "../model/records.ts";
import { memoryGrid } from "../testing/memory-grid.ts";
import { ResultsReader } from "./results-reader.ts";
import { createSession } from "./sessions.ts";
import { submitTasks } from "./submitter.ts";

const key = { tenant: "acme", sessionId: "res" };
const T = 1_700_000_000_000;

async function setup() {
  const clock = new FakeClock(T);
  const grid = memoryGrid({ clock });
  await createSession(grid, key.tenant, { sessionId: key.sessionId, config: { chunkMaxTasks: 1 } });
  await submitTasks(grid, key, { tasks: Array.from({ length: 5 }, (_, i) => ({ index: i })) });
  /** Commits task `index` as if a worker's clock read `at`. */
  const commit = async (index: number, at: number) => {
    const [chunk] = (await grid.store.getChunks([{ ...key, start: index }])) as [ChunkRecord];
    const next = { ...chunk, version: chunk.version + 1, slots: "S", due: undefined };
    const entry = attachCompletion(
      next,
      [{ index, status: "SUCCEEDED", attempt: 1, result: `r${index}` }],
      at,
      { fence: 1 },
    );
    await grid.store.writeChunks([
      { chunk: next, expectedVersion: chunk.version, before: chunk.slots, completion: entry },
    ]);
    return entry;
  };
  return { grid, clock, commit };
}

describe("results reader", () => {
  it("delivers each outcome once, in commit order, and only new ones on later polls", async () => {
    const { grid, commit } = await setup();
    const reader = new ResultsReader(grid, key);
    await commit(0, T + 10);
    await commit(1, T + 20);
    expect((await reader.poll()).map((o) => o.result)).toEqual(["r0", "r1"]);
    expect(await reader.poll()).toEqual([]);
    await commit(2, T + 30);
    expect((await reader.poll()).map((o) => o.result)).toEqual(["r2"]);
  });

  it("catches a commit that lands after a later-stamped one, within the overlap window", async () => {
    const { grid, commit } = await setup();
    const reader = new ResultsReader(grid, key, { overlapMs: 5_000 });
    await commit(0, T + 10_000);
    expect(await reader.poll()).toHaveLength(1);
    await commit(1, T + 7_000); // a slower writer, 3 s behind
    expect((await reader.poll()).map((o) => o.index)).toEqual([1]);
    expect(await reader.poll()).toEqual([]);
  });

  it("finds a commit older than the window once it is re-published, and still delivers it once", async () => {
    const { grid, clock, commit } = await setup();
    const reader = new ResultsReader(grid, key, { overlapMs: 5_000 });
    clock.advance(60_000);
    await commit(0, T + 60_000);
    await reader.poll();
    const late = await commit(1, T + 1_000);
    expect(await reader.poll()).toEqual([]); // beyond the window: this is why late commits re-publish
    const seq = Number(late.sortKey.slice(-3));
    await grid.store.putCompletion({ ...late, sortKey: completionSk(T + 61_000, 1, seq) });
    expect((await reader.poll()).map((o) => o.index)).toEqual([1]);
    await grid.store.putCompletion({ ...late, sortKey: completionSk(T + 61_500, 1, seq) });
    expect(await reader.poll()).toEqual([]);
    clock.advance(140_000);
    await commit(2, T + 200_000); // the horizon moves far past both copies
    expect((await reader.poll()).map((o) => o.index)).toEqual([2]);
    await grid.store.putCompletion({ ...late, sortKey: completionSk(T + 200_500, 1, seq) });
    expect(await reader.poll()).toEqual([]);
  });
});
