import { countsOf, finishedCount, type TaskCounts } from "../engine/progress.ts";
import type { SessionKey, SessionRecord } from "../model/records.ts";
import type { GridPorts } from "./grid-ports.ts";
import { getSession, isSessionSealed } from "./sessions.ts";

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
 * Reads a session with exact task counts, from its counters: every insert and every chunk write
 * that changes a task's state moves them in the same atomic write. The work is the session
 * record and its counter shards, whatever the session's size. `running` counts tasks under a
 * lease (a lease that expired counts until its tasks are claimed again).
 */
export async function getSessionProgress(ports: GridPorts, key: SessionKey): Promise<SessionProgress> {
  const session = await getSession(ports, key);
  const counts = countsOf(await ports.store.getCounters(key));
  const finished = finishedCount(counts);
  return {
    session,
    counts,
    fraction: counts.total === 0 ? 1 : finished / counts.total,
    settled: isSessionSealed(session, ports.clock.now()) && finished === counts.total,
  };
}
