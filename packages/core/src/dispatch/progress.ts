import { countChunk, finishedCount, type TaskCounts, zeroCounts } from "../engine/progress.ts";
import type { SessionKey, SessionRecord } from "../model/records.ts";
import { mapLimit } from "../util.ts";
import type { GridPorts } from "./grid-ports.ts";
import { listSessionGroups } from "./groups.ts";
import { getSession, isSessionSealed } from "./sessions.ts";

/** Group reads in flight at once. */
const GROUP_CONCURRENCY = 8;

/** A session with its task counts. */
export interface SessionProgress {
  session: SessionRecord;
  counts: TaskCounts;
  /** Share of tasks finished, 0..1 (1 for a session without tasks). */
  fraction: number;
  /** True when no task can change any more: the session is sealed and every task is terminal. */
  settled: boolean;
}

/**
 * Reads a session with exact task counts, from its chunk records. The work is one query per
 * key group (4,096 tasks, about 26 KB of chunk records), so it grows with the session: it is
 * meant for status views, not for tight polling; streaming results is the incremental path.
 */
export async function getSessionProgress(ports: GridPorts, key: SessionKey): Promise<SessionProgress> {
  const session = await getSession(ports, key);
  const now = ports.clock.now();
  const groups = await listSessionGroups(ports, key);
  const perGroup = await mapLimit(groups, GROUP_CONCURRENCY, async (g) => {
    const counts = zeroCounts();
    for (const chunk of await ports.store.listChunks(key, g)) countChunk(counts, chunk, now);
    return counts;
  });
  const counts = zeroCounts();
  for (const c of perGroup) {
    for (const field of Object.keys(counts) as (keyof TaskCounts)[]) counts[field] += c[field];
  }
  const finished = finishedCount(counts);
  return {
    session,
    counts,
    fraction: counts.total === 0 ? 1 : finished / counts.total,
    settled: isSessionSealed(session, now) && finished === counts.total,
  };
}
