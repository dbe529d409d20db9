/**
 * The terminal outcomes of some tasks of one chunk, from its completion entries (the chunk lists
 * their sort keys, oldest first). Read newest first and stopped as soon as every asked task is
 * found: a chunk whose tasks finished in one commit costs one read.
 */
import { groupOf } from "../engine/keys.ts";
import type { ChunkRecord, TaskOutcome } from "../model/records.ts";
import type { GridPorts } from "./grid-ports.ts";

/** A task's outcome and when its commit landed. */
export interface FoundOutcome {
  outcome: TaskOutcome;
  committedAt: number;
}

/** Outcomes of `indexes` (tasks of `chunk`), by index; results stay where they are (not loaded). */
export async function chunkOutcomes(
  ports: GridPorts,
  chunk: ChunkRecord,
  indexes: ReadonlySet<number>,
): Promise<Map<number, FoundOutcome>> {
  const found = new Map<number, FoundOutcome>();
  for (let i = chunk.commits.length - 1; i >= 0 && found.size < indexes.size; i--) {
    const entry = await ports.store.getCompletion(chunk, groupOf(chunk.start), chunk.commits[i]!);
    for (const outcome of entry?.outcomes ?? [])
      if (indexes.has(outcome.index) && !found.has(outcome.index))
        found.set(outcome.index, { outcome, committedAt: entry!.committedAt });
  }
  return found;
}
