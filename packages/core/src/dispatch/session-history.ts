/**
 * A session's progress over time. The reaper, which visits every active session each pass, adds
 * a snapshot of its counts when the spacing for its age has passed and the counts moved (see
 * engine/history.ts); the history read returns them thinned for a chart, ending with the
 * counts as they are now.
 */
import {
  downsample,
  HISTORY_MAX_POINTS,
  HISTORY_READ_LIMIT,
  type HistoryPoint,
  historyPoint,
  isSnapshotDue,
  isSnapshotWorthWriting,
} from "../engine/history.ts";
import { countsOf } from "../engine/progress.ts";
import type { SessionKey, SessionRecord } from "../model/records.ts";
import type { GridPorts } from "./grid-ports.ts";
import { getSession } from "./sessions.ts";

/**
 * Adds a snapshot of an active session's counts if one is due. Costs one Query of a single
 * item; when due, a read of the counter shards; when they moved, one small write.
 * Returns whether it wrote.
 */
export async function recordSessionHistory(ports: GridPorts, session: SessionRecord): Promise<boolean> {
  const now = ports.clock.now();
  const [newest] = await ports.store.readHistory(session, 1);
  if (!isSnapshotDue(newest, session.createdAt, now)) return false;
  const point = historyPoint(now, countsOf(await ports.store.getCounters(session)));
  if (!isSnapshotWorthWriting(newest, point)) return false;
  await ports.store.addHistory(session, point);
  return true;
}

/** A session's progress over time, for a chart. */
export interface SessionHistory {
  /** Oldest first, at most HISTORY_MAX_POINTS; the last is the counts as read now. */
  points: HistoryPoint[];
  /** Typical seconds between two returned points (the snapshot spacing after thinning). */
  intervalSec: number;
  /** False when the session has older snapshots than the HISTORY_READ_LIMIT newest read. */
  complete: boolean;
}

/**
 * Reads a session's history: its newest HISTORY_READ_LIMIT snapshots (one Query of small items)
 * and its counters, thinned to HISTORY_MAX_POINTS points. Another tenant's session is not found.
 */
export async function readSessionHistory(ports: GridPorts, key: SessionKey): Promise<SessionHistory> {
  await getSession(ports, key);
  const [stored, counters] = await Promise.all([
    ports.store.readHistory(key, HISTORY_READ_LIMIT),
    ports.store.getCounters(key),
  ]);
  const now = ports.clock.now();
  const ascending = stored.reverse();
  const last = ascending.at(-1);
  if (last === undefined || last.at < now) ascending.push(historyPoint(now, countsOf(counters)));
  const points = downsample(ascending, HISTORY_MAX_POINTS);
  const span = points.length > 1 ? points.at(-1)!.at - points[0]!.at : 0;
  return {
    points,
    intervalSec: points.length > 1 ? Math.round(span / (points.length - 1) / 1000) : 0,
    complete: stored.length < HISTORY_READ_LIMIT,
  };
}
