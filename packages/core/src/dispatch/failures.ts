/**
 * Why a session's tasks failed, grouped by error code. Failed tasks are found in the chunk
 * records (one small item per up to 64 tasks, read a key group at a time) and their errors in
 * the completion entries of the chunks that hold them; both walks are bounded per call, so the
 * groups of a huge session are built from a sample (`complete: false`). The total is exact
 * (the session's counters).
 */
import { countsOf } from "../engine/progress.ts";
import type { ChunkRecord, SessionKey } from "../model/records.ts";
import { SlotCode } from "../model/status.ts";
import { mapLimit } from "../util.ts";
import { chunkOutcomes } from "./chunk-outcomes.ts";
import type { GridPorts } from "./grid-ports.ts";
import { getSession } from "./sessions.ts";

/** Most key groups (4,096 task indexes each) one call reads the chunks of. */
export const FAILURE_GROUPS_PER_CALL = 64;
/** Most completion entries one call reads to learn the failed tasks' errors. */
export const FAILURE_ENTRY_READS = 256;
/** Task ids listed per error code. */
export const FAILURE_SAMPLE_IDS = 10;

/** Failed tasks that share an error code. */
export interface FailureGroup {
  code: string;
  /** Failed tasks with this code among those whose error was read. */
  count: number;
  /** The error message of the lowest-numbered of them. */
  firstMessage: string;
  /** Up to FAILURE_SAMPLE_IDS of them, lowest first. */
  taskIds: string[];
}

/** A session's failures. */
export interface FailureSummary {
  /** By count, largest first. */
  groups: FailureGroup[];
  /** Failed tasks of the session (exact). */
  totalFailed: number;
  /** Tasks charged more than one attempt (any status), among the chunks read. */
  retried: number;
  /** False when the groups and `retried` come from part of the session (a bounded sample). */
  complete: boolean;
}

/** Reads a session's failures, grouped by code, the `maxGroups` largest groups. */
export async function summarizeFailures(
  ports: GridPorts,
  key: SessionKey,
  options: { maxGroups: number },
): Promise<FailureSummary> {
  await getSession(ports, key);
  const [counters, directory] = await Promise.all([
    ports.store.getCounters(key),
    ports.store.listGroups(key, undefined, FAILURE_GROUPS_PER_CALL),
  ]);
  const chunks = (await mapLimit(directory.groups, 4, (g) => ports.store.listChunks(key, g))).flat();
  let retried = 0;
  const failing: { chunk: ChunkRecord; indexes: Set<number> }[] = [];
  for (const chunk of chunks) {
    const indexes = new Set<number>();
    for (let slot = 0; slot < chunk.count; slot++) {
      if (chunk.attempts[slot]! > 1) retried++;
      if (chunk.slots[slot] === SlotCode.FAILED) indexes.add(chunk.start + slot);
    }
    if (indexes.size > 0) failing.push({ chunk, indexes });
  }
  // The first failing chunks, in index order, as long as their entries fit the read budget.
  const read: typeof failing = [];
  let budget = FAILURE_ENTRY_READS;
  for (const f of failing) {
    budget -= f.chunk.commits.length;
    if (budget < 0) break;
    read.push(f);
  }
  const found = await mapLimit(read, 8, (f) => chunkOutcomes(ports, f.chunk, f.indexes));
  const byCode = new Map<string, FailureGroup>();
  let resolved = 0;
  for (const outcomes of found) {
    for (const [index, { outcome }] of [...outcomes].sort((a, b) => a[0] - b[0])) {
      resolved++;
      const code = outcome.error?.code ?? "UNKNOWN";
      const group = byCode.get(code) ?? {
        code,
        count: 0,
        firstMessage: outcome.error?.message ?? "",
        taskIds: [],
      };
      group.count++;
      if (group.taskIds.length < FAILURE_SAMPLE_IDS) group.taskIds.push(String(index));
      byCode.set(code, group);
    }
  }
  const totalFailed = countsOf(counters).failed;
  return {
    groups: [...byCode.values()].sort((a, b) => b.count - a.count).slice(0, options.maxGroups),
    totalFailed,
    retried,
    complete: directory.next === undefined && resolved === totalFailed,
  };
}
