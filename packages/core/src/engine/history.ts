/**
 * A session's progress over time: snapshots of its task counts that the reaper writes while the
 * session is active (it visits every active session anyway), spaced more widely as the session
 * ages, so a week-long session keeps a few thousand points and an idle one none. Pure: when a
 * snapshot is due, the throughput they imply, and the thinning of a series for a chart.
 */
import type { TaskCounts } from "./progress.ts";

/** One snapshot of a session's task counts. */
export interface HistoryPoint {
  /** When the counts were read (epoch ms). */
  at: number;
  total: number;
  queued: number;
  running: number;
  succeeded: number;
  failed: number;
  cancelled: number;
}

/** Closest two snapshots of a young session may be. */
export const HISTORY_MIN_SPACING_MS = 10_000;
/** Widest spacing, whatever the session's age: keeps the throughput a recent figure. */
export const HISTORY_MAX_SPACING_MS = 5 * 60_000;
/** The spacing is the session's age over this: a session keeps about this many points per doubling of its age (×ln 2). */
const POINTS_PER_AGE = 500;
/** Most snapshots a history read fetches (newest first): about a week of an active session. */
export const HISTORY_READ_LIMIT = 4_000;
/** Most points a history answer returns. */
export const HISTORY_MAX_POINTS = 500;
/** The throughput is measured from the newest snapshot at least this old. */
export const THROUGHPUT_WINDOW_MS = 60_000;

/** Least time between two snapshots of a session of this age (ms since its creation). */
export function historySpacingMs(ageMs: number): number {
  return Math.min(HISTORY_MAX_SPACING_MS, Math.max(HISTORY_MIN_SPACING_MS, ageMs / POINTS_PER_AGE));
}

/** A snapshot of `counts` taken at `at`. */
export function historyPoint(at: number, counts: TaskCounts): HistoryPoint {
  const { total, queued, running, succeeded, failed, cancelled } = counts;
  return { at, total, queued, running, succeeded, failed, cancelled };
}

/** True when two snapshots hold the same counts. */
function sameCounts(a: HistoryPoint, b: HistoryPoint): boolean {
  return (
    a.total === b.total &&
    a.queued === b.queued &&
    a.running === b.running &&
    a.succeeded === b.succeeded &&
    a.failed === b.failed &&
    a.cancelled === b.cancelled
  );
}

/**
 * True when the spacing for the session's age has passed since its newest snapshot: the caller
 * then reads the counts and calls {@link isSnapshotWorthWriting}.
 */
export function isSnapshotDue(newest: HistoryPoint | undefined, createdAt: number, now: number): boolean {
  return newest === undefined || now - newest.at >= historySpacingMs(now - createdAt);
}

/** A snapshot is written only when the counts moved: a session that waits writes nothing. */
export function isSnapshotWorthWriting(newest: HistoryPoint | undefined, next: HistoryPoint): boolean {
  return newest === undefined || !sameCounts(newest, next);
}

const finished = (p: Pick<HistoryPoint, "succeeded" | "failed" | "cancelled">) =>
  p.succeeded + p.failed + p.cancelled;

/**
 * Tasks finished per second between a reference point and `current`: the reference is the newest
 * snapshot at least THROUGHPUT_WINDOW_MS older than `current`, or, for a session younger than that,
 * its creation (nothing finished). 0 when nothing finished over that span. `newestFirst` are the
 * session's snapshots, newest first.
 */
export function throughputPerSec(
  newestFirst: readonly HistoryPoint[],
  current: HistoryPoint,
  createdAt: number,
): number {
  const ref = newestFirst.find((p) => current.at - p.at >= THROUGHPUT_WINDOW_MS) ?? {
    at: createdAt,
    succeeded: 0,
    failed: 0,
    cancelled: 0,
  };
  const seconds = (current.at - ref.at) / 1000;
  if (seconds <= 0) return 0;
  return Math.max(0, finished(current) - finished(ref)) / seconds;
}

/**
 * At most `max` points of an ascending series, evenly picked by position, the first and the last
 * always kept (a chart's ends are exact).
 */
export function downsample<T>(points: readonly T[], max: number): T[] {
  if (points.length <= max) return [...points];
  if (max < 2) return points.slice(-max);
  const out: T[] = [];
  for (let i = 0; i < max; i++) out.push(points[Math.round((i * (points.length - 1)) / (max - 1))]!);
  return out;
}
