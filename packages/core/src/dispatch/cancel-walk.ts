import { attachCompletion } from "../engine/completions.ts";
import { requestCancel } from "../engine/transitions.ts";
import { Limits } from "../model/limits.ts";
import type { ChunkKey, SessionRecord } from "../model/records.ts";
import { chunkWrite } from "../ports/task-store.ts";
import type { GridPorts } from "./grid-ports.ts";
import { sessionGroups } from "./groups.ts";

/** Tally of a cancel walk. */
export interface CancelWalk {
  cancelledQueued: number;
  abortRequested: number;
  complete: boolean;
}

/**
 * Requests cancellation of the given slots (or all) of one chunk, retrying version conflicts.
 * Returns how many queued tasks were cancelled and how many leased ones were marked.
 */
export async function cancelInChunk(
  ports: GridPorts,
  key: ChunkKey,
  which: readonly number[] | "all",
): Promise<{ cancelled: number; marked: number; found: boolean; requested: number }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const [chunk] = await ports.store.getChunks([key]);
    if (!chunk) return { cancelled: 0, marked: 0, found: false, requested: 0 };
    const now = ports.clock.now();
    const change = requestCancel(chunk, which, now);
    // Slots marked for cancellation whose runs may still go (an earlier call may have marked them).
    const requested = (slots: string) =>
      [...slots].filter((c, i) => c === "K" && (which === "all" || which.includes(i))).length;
    if (!change) return { cancelled: 0, marked: 0, found: true, requested: requested(chunk.slots) };
    const completion =
      change.outcomes.length > 0
        ? attachCompletion(change.next, change.outcomes, now, { fence: chunk.fence })
        : undefined;
    const [result] = await ports.store.writeChunks([chunkWrite(chunk, change.next, completion)]);
    if (result === "ok") {
      let marked = 0;
      for (let i = 0; i < chunk.slots.length; i++)
        if (chunk.slots[i] !== change.next.slots[i] && change.next.slots[i] === "K") marked++;
      return {
        cancelled: change.outcomes.length,
        marked,
        found: true,
        requested: requested(change.next.slots),
      };
    }
  }
  return { cancelled: 0, marked: 0, found: true, requested: 0 };
}

/** Bounds of a cancel walk. */
export interface CancelWalkOptions {
  /** Most chunks cancelled. @default unbounded */
  maxChunks?: number;
  /** Most groups visited, from the start of the directory. @default unbounded */
  maxGroups?: number;
  /** Visit these groups only (the reaper's window of this pass). */
  groups?: readonly number[];
}

/**
 * Walks the non-terminal chunks of a cancelled session and cancels them, within the bounds; a
 * walk cut short says so (`complete: false`) and the reaper carries on.
 */
export async function cancelChunksOfSession(
  ports: GridPorts,
  session: SessionRecord,
  options: CancelWalkOptions = {},
): Promise<CancelWalk> {
  const tally: CancelWalk = { cancelledQueued: 0, abortRequested: 0, complete: true };
  let chunks = options.maxChunks ?? Number.POSITIVE_INFINITY;
  let groups = options.maxGroups ?? Number.POSITIVE_INFINITY;
  for await (const group of options.groups ?? sessionGroups(ports, session)) {
    if (groups-- <= 0) return { ...tally, complete: false };
    // A group holds at most GROUP_SIZE chunks, so one listing covers it.
    const keys = await ports.store.listDueChunks(session, group, Number.POSITIVE_INFINITY, Limits.GROUP_SIZE);
    for (const key of keys) {
      if (chunks-- <= 0) return { ...tally, complete: false };
      const r = await cancelInChunk(ports, key, "all");
      tally.cancelledQueued += r.cancelled;
      tally.abortRequested += r.marked;
    }
  }
  return tally;
}
