import { describe, expect, it } from "vitest";
import { FakeClock } from "../adapters/memory/clocks.ts";
import { attachCompletion } from "../engine/completions.ts";
import { completionSk } from "../engine/keys.ts";
import { ErrorCode, isGridError } from "../errors.ts";
import { Limits } from "../model/limits.ts";
import type { ChunkRecord } from "../model/records.ts";
import { CURSOR_MAX_AGE_MS, decodeCursor } from "../model/results-cursor.ts";
import type { TaskStore } from "../ports/task-store.ts";
import { memoryGrid } from "../testing/memory-grid.ts";
import { MAX_ENTRIES_READ, MAX_GROUP_READS, readResultsPage } from "./results-page.ts";
import { CLOSE_GRACE_MS, closeSession, createSession, getSession } from "./sessions.ts";
import { MAX_BATCH_GROUPS, submitTasks } from "./submitter.ts";

const key = { tenant: "acme", sessionId: "pages" };

async function setup(tasks: number[]) {
  const clock = new FakeClock();
  const grid = memoryGrid({ clock });
  await createSession(grid, key.tenant, { sessionId: key.sessionId, config: { chunkMaxTasks: 1 } });
  for (let i = 0; i < tasks.length; i += MAX_BATCH_GROUPS)
    await submitTasks(grid, key, { tasks: tasks.slice(i, i + MAX_BATCH_GROUPS).map((index) => ({ index })) });
  const reads: number[] = [];
  const entriesRead = { n: 0 };
  const store = grid.store;
  const counted = new Proxy(store, {
    get(target, name) {
      if (name === "readCompletions") {
        return (async (s, group, after, limit) => {
          reads.push(group);
          const page = await target.readCompletions(s, group, after, limit);
          entriesRead.n += page.entries.length;
          return page;
        }) satisfies TaskStore["readCompletions"];
      }
      const value = Reflect.get(target, name, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const ports = { ...grid, store: counted };
  /** Commits task `index` as if a worker's clock read `at` (default: now). */
  const commit = async (index: number, at = clock.now()) => {
    const [chunk] = (await store.getChunks([{ ...key, start: index }])) as [ChunkRecord];
    const next = { ...chunk, version: chunk.version + 1, slots: "S", due: undefined };
    const entry = attachCompletion(
      next,
      [{ index, status: "SUCCEEDED", attempt: 1, result: `r${index}` }],
      at,
      { fence: 1 },
    );
    await store.writeChunks([
      { chunk: next, expectedVersion: chunk.version, before: chunk.slots, completion: entry },
    ]);
    return entry;
  };
  return { ports, clock, commit, reads, entriesRead };
}

const indexes = (page: { outcomes: { index: number }[] }) => page.outcomes.map((o) => o.index);

describe("readResultsPage", () => {
  it("delivers each outcome once across calls, following the cursor", async () => {
    const { ports, clock, commit } = await setup([0, 1, 2]);
    await commit(0);
    await commit(1);
    const first = await readResultsPage(ports, key);
    expect(indexes(first)).toEqual([0, 1]);
    expect(first.outcomes[0]?.result).toBe("r0");
    const again = await readResultsPage(ports, key, { cursor: first.cursor });
    expect(indexes(again)).toEqual([]);
    clock.advance(100);
    await commit(2);
    const next = await readResultsPage(ports, key, { cursor: again.cursor });
    expect(indexes(next)).toEqual([2]);
  });

  it("splits at the limit and continues without loss or repeats", async () => {
    const { ports, clock, commit } = await setup([0, 1, 2, 3, 4]);
    for (let i = 0; i < 5; i++) {
      await commit(i);
      clock.advance(1);
    }
    const got: number[] = [];
    let cursor: string | undefined;
    for (let call = 0; call < 5; call++) {
      const page = await readResultsPage(ports, key, { cursor, limit: 2 });
      expect(page.outcomes.length).toBeLessThanOrEqual(2);
      got.push(...indexes(page));
      cursor = page.cursor;
    }
    expect(got).toEqual([0, 1, 2, 3, 4]);
  });

  it("catches a commit that lands after a later-stamped one, once", async () => {
    const { ports, clock, commit } = await setup([0, 1]);
    clock.advance(10_000);
    await commit(0);
    const first = await readResultsPage(ports, key, { overlapMs: 5_000 });
    await commit(1, clock.now() - 3_000); // a slower writer, 3 s behind
    const second = await readResultsPage(ports, key, { cursor: first.cursor, overlapMs: 5_000 });
    expect(indexes(second)).toEqual([1]);
    const third = await readResultsPage(ports, key, { cursor: second.cursor, overlapMs: 5_000 });
    expect(indexes(third)).toEqual([]);
  });

  it("settles a closed session once everything is delivered, and stops reading finished groups", async () => {
    const g1 = Limits.GROUP_SIZE;
    const { ports, clock, commit, reads } = await setup([0, g1]);
    await commit(0);
    let page = await readResultsPage(ports, key);
    expect(page.settled).toBe(false);
    await closeSession(ports, key);
    clock.advance(60_000);
    page = await readResultsPage(ports, key, { cursor: page.cursor });
    expect(page.settled).toBe(false); // task g1 is still queued
    reads.length = 0;
    page = await readResultsPage(ports, key, { cursor: page.cursor });
    expect(reads).toEqual([1]); // group 0 is done and never read again
    await commit(g1);
    page = await readResultsPage(ports, key, { cursor: page.cursor });
    // The close sealed every group: no task can be added, so the last delivery settles it.
    expect(indexes(page)).toEqual([g1]);
    expect(page.settled).toBe(true);
  });

  it("never settles an open session: more tasks may come", async () => {
    const { ports, clock, commit } = await setup([0]);
    await commit(0);
    clock.advance(60_000);
    const page = await readResultsPage(ports, key);
    clock.advance(60_000);
    expect((await readResultsPage(ports, key, { cursor: page.cursor })).settled).toBe(false);
  });

  it("rejects malformed, foreign and expired cursors", async () => {
    const { ports, clock } = await setup([0]);
    const page = await readResultsPage(ports, key);
    const codeOf = (p: Promise<unknown>) =>
      p.then(
        () => "ok",
        (e: unknown) => (isGridError(e) ? `${e.code}: ${e.message}` : String(e)),
      );
    expect(await codeOf(readResultsPage(ports, key, { cursor: "not-a-cursor" }))).toMatch(
      /^VALIDATION: cursor:/,
    );
    expect(() => decodeCursor(page.cursor, "other", clock.now())).toThrow(/another session/);
    clock.advance(CURSOR_MAX_AGE_MS + 1);
    expect(await codeOf(readResultsPage(ports, key, { cursor: page.cursor }))).toMatch(
      new RegExp(`^${ErrorCode.CURSOR_EXPIRED}`),
    );
  });

  it("never settles on the due index alone", async () => {
    const { ports, clock, commit } = await setup([0, 1]);
    await commit(0);
    await closeSession(ports, key);
    // A lagging due index: task 1's chunk is not terminal, but the index no longer lists it.
    const [c1] = (await ports.store.getChunks([{ ...key, start: 1 }])) as [ChunkRecord];
    await ports.store.writeChunks([
      {
        chunk: { ...c1, version: c1.version + 1, due: undefined },
        expectedVersion: c1.version,
        before: c1.slots,
      },
    ]);
    clock.advance(10_000);
    let page = await readResultsPage(ports, key);
    expect(indexes(page)).toEqual([0]);
    clock.advance(120_000);
    page = await readResultsPage(ports, key, { cursor: page.cursor });
    expect(page.settled).toBe(false); // the chunk records decide, and task 1 is queued
    await commit(1);
    page = await readResultsPage(ports, key, { cursor: page.cursor });
    expect(indexes(page)).toEqual([1]);
    expect(page.settled).toBe(true);
  });

  it("after a close that died before sealing, waits out the grace for a submit still in flight", async () => {
    const { ports, clock, commit } = await setup([0]);
    await commit(0);
    const open = await getSession(ports, key);
    const closed = { ...open, state: "CLOSED" as const, version: open.version + 1, updatedAt: clock.now() };
    expect(await ports.store.writeSession(closed, open.version)).toBe("ok");
    clock.advance(CLOSE_GRACE_MS - 1_000);
    const page = await readResultsPage(ports, key);
    expect(indexes(page)).toEqual([0]);
    expect(page.settled).toBe(false);
    clock.advance(2_000);
    expect((await readResultsPage(ports, key, { cursor: page.cursor })).settled).toBe(true);
  });

  it("delivers a later result although a writer's clock ran ahead (defect: results vanished)", async () => {
    const { ports, clock, commit } = await setup([0, 1]);
    clock.advance(60_000);
    await commit(0, clock.now() + 10_000); // a worker 10 s ahead
    let page = await readResultsPage(ports, key);
    expect(indexes(page)).toEqual([0]);
    clock.advance(1_000);
    await commit(1); // a correct clock, a second later in real time
    page = await readResultsPage(ports, key, { cursor: page.cursor });
    expect(indexes(page)).toEqual([1]);
    expect(indexes(await readResultsPage(ports, key, { cursor: page.cursor }))).toEqual([]);
  });

  it("delivers exactly once a result stamped a minute back, and settles only after it", async () => {
    const { ports, clock, commit } = await setup([0, 1, 2]);
    clock.advance(120_000);
    await commit(0);
    let page = await readResultsPage(ports, key);
    await commit(1, clock.now() - 60_000); // a worker a minute behind: below every window
    await commit(2);
    await closeSession(ports, key);
    page = await readResultsPage(ports, key, { cursor: page.cursor });
    // All chunks are terminal and the session sealed: the full read before "done" finds it.
    expect(indexes(page).sort()).toEqual([1, 2]);
    expect(page.settled).toBe(true);
  });

  it("finds a result stamped far back in an open session by its periodic full read", async () => {
    const { ports, clock, commit } = await setup([0, 1, 2]);
    clock.advance(120_000);
    await commit(0);
    let page = await readResultsPage(ports, key, { fullReadMs: 30_000 });
    await commit(1, clock.now() - 60_000);
    clock.advance(10_000);
    page = await readResultsPage(ports, key, { cursor: page.cursor, fullReadMs: 30_000 });
    expect(indexes(page)).toEqual([]);
    clock.advance(25_000);
    page = await readResultsPage(ports, key, { cursor: page.cursor, fullReadMs: 30_000 });
    expect(indexes(page)).toEqual([1]);
    clock.advance(40_000);
    expect(indexes(await readResultsPage(ports, key, { cursor: page.cursor, fullReadMs: 30_000 }))).toEqual(
      [],
    );
  });

  it("delivers a late commit once through its re-published copy, and never the copy again", async () => {
    const { ports, clock, commit } = await setup([0, 1]);
    clock.advance(60_000);
    await commit(0);
    let page = await readResultsPage(ports, key, { overlapMs: 5_000 });
    const late = await commit(1, clock.now() - 59_000); // landed a minute after its stamp
    page = await readResultsPage(ports, key, { cursor: page.cursor, overlapMs: 5_000 });
    expect(indexes(page)).toEqual([]); // below the window: this is why late commits re-publish
    const seq = Number(late.sortKey.slice(-3));
    await ports.store.putCompletion({ ...late, sortKey: completionSk(clock.now() + 500, 1, seq) });
    page = await readResultsPage(ports, key, { cursor: page.cursor, overlapMs: 5_000 });
    expect(indexes(page)).toEqual([1]);
    await ports.store.putCompletion({ ...late, sortKey: completionSk(clock.now() + 1_000, 1, seq) });
    page = await readResultsPage(ports, key, { cursor: page.cursor, overlapMs: 5_000 });
    expect(indexes(page)).toEqual([]);
  });

  it("bounds the groups one page reads, resumes the walk, and settles once every group is done", async () => {
    const spread = Array.from({ length: 300 }, (_, i) => i * Limits.GROUP_SIZE * 1_000 + (i % 7));
    const { ports, commit, reads } = await setup(spread);
    for (const index of spread) await commit(index);
    await closeSession(ports, key);
    const got: number[] = [];
    let cursor: string | undefined;
    let settled = false;
    let pages = 0;
    for (; pages < 10 && !settled; pages++) {
      reads.length = 0;
      const page = await readResultsPage(ports, key, { cursor, limit: 100_000 });
      expect(new Set(reads).size).toBeLessThanOrEqual(MAX_GROUP_READS);
      got.push(...indexes(page));
      cursor = page.cursor;
      settled = page.settled;
    }
    expect(settled).toBe(true);
    // One page per MAX_GROUP_READS groups, then one walk from the start that finds all done.
    expect(pages).toBe(Math.ceil(300 / MAX_GROUP_READS) + 1);
    expect(got.sort((a, b) => a - b)).toEqual(spread);
    // Done groups are behind the watermark: a settled cursor is small and reads nothing.
    expect(cursor!.length).toBeLessThan(40);
    reads.length = 0;
    expect((await readResultsPage(ports, key, { cursor })).settled).toBe(true);
    expect(reads).toEqual([]);
  });

  it("delivers a result whose spilled blob is gone as RESULT_UNAVAILABLE, and goes on", async () => {
    const { ports, commit } = await setup([0, 1, 2]);
    const store = ports.store;
    await commit(0);
    const [chunk] = (await store.getChunks([{ ...key, start: 1 }])) as [ChunkRecord];
    const next = { ...chunk, version: chunk.version + 1, slots: "S", due: undefined };
    const entry = attachCompletion(next, [{ index: 1, status: "SUCCEEDED", attempt: 1 }], 5, { fence: 1 });
    entry.resultsKey = "t/acme/s/pages/r/lost.json"; // spilled, then lost (a local restart)
    await store.writeChunks([
      { chunk: next, expectedVersion: chunk.version, before: chunk.slots, completion: entry },
    ]);
    await commit(2);
    const page = await readResultsPage(ports, key);
    expect(indexes(page).sort()).toEqual([0, 1, 2]);
    const lost = page.outcomes.find((o) => o.index === 1)!;
    expect(lost).toMatchObject({ status: "SUCCEEDED", error: { code: "RESULT_UNAVAILABLE" } });
    expect(lost.result).toBeUndefined();
  });

  it("reads at most MAX_ENTRIES_READ entries a page, delivered or not, and carries on where it stopped", async () => {
    const n = 3_000;
    const { ports, clock, commit, entriesRead } = await setup(Array.from({ length: n }, (_, i) => i));
    for (let i = 0; i < n; i++) await commit(i);
    const got: number[] = [];
    let cursor: string | undefined;
    for (let p = 0; p < 4; p++) {
      entriesRead.n = 0;
      const page = await readResultsPage(ports, key, { cursor, limit: 100_000 });
      expect(entriesRead.n).toBeLessThanOrEqual(MAX_ENTRIES_READ + 1);
      got.push(...indexes(page));
      cursor = page.cursor;
    }
    expect(got).toEqual(Array.from({ length: n }, (_, i) => i));
    // Caught up; the group's periodic full read is due: it too stays within the budget per page,
    // delivers nothing twice, and finishes over the next pages.
    clock.advance(31_000);
    for (let p = 0; p < 3; p++) {
      entriesRead.n = 0;
      const page = await readResultsPage(ports, key, { cursor, limit: 10 });
      expect(entriesRead.n).toBeLessThanOrEqual(MAX_ENTRIES_READ + 1);
      expect(indexes(page)).toEqual([]);
      cursor = page.cursor;
    }
  });
});
