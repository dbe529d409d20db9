/**
 * A tenant's sessions, filtered by state and tag, with an optional summary of each (counts,
 * cost, throughput). The tenant index holds keys only, so filters apply to the sessions read:
 * one call reads at most LIST_SCAN_LIMIT sessions, and a page may hold fewer matches than asked
 * while `next` says more follow.
 */
import { type HistoryPoint, historyPoint, throughputPerSec } from "../engine/history.ts";
import { tenantSk } from "../engine/keys.ts";
import { countsOf, finishedCount, type TaskCounts } from "../engine/progress.ts";
import { priceSessionUsage } from "../metering/session-usage.ts";
import { assertId } from "../model/ids.ts";
import type { SessionKey, SessionRecord } from "../model/records.ts";
import type { SessionState } from "../model/status.ts";
import { mapLimit } from "../util.ts";
import type { GridPorts } from "./grid-ports.ts";
import { isSessionSealed } from "./sessions.ts";

/** Most sessions one list call reads, matched or not. */
export const LIST_SCAN_LIMIT = 500;
/** Sessions read per index page while filtering. */
const SCAN_PAGE = 100;
/** Snapshots a summary reads: enough to reach one a minute old at the closest spacing (10 s). */
const SUMMARY_HISTORY = 8;

/** Which sessions a list returns. */
export interface SessionFilter {
  state?: SessionState | undefined;
  /** A tag the session carries with exactly this value. */
  tag?: { key: string; value: string } | undefined;
}

/** One page of a filtered list, newest first. */
export interface FilteredSessionPage {
  sessions: SessionRecord[];
  /** Pass back as `after`; absent when no session follows (it may lead to an empty page). */
  next?: string | undefined;
}

function matches(s: SessionRecord, f: SessionFilter): boolean {
  if (f.state !== undefined && s.state !== f.state) return false;
  if (f.tag !== undefined && s.tags[f.tag.key] !== f.tag.value) return false;
  return true;
}

/**
 * Lists a tenant's sessions newest first, keeping those that match `filter`: reads index pages
 * until `limit` sessions matched or LIST_SCAN_LIMIT were read, and returns where it stopped.
 */
export async function listSessionsWhere(
  ports: GridPorts,
  tenant: string,
  options: { limit: number; after?: string | undefined; filter?: SessionFilter },
): Promise<FilteredSessionPage> {
  assertId("tenant", tenant);
  const filter = options.filter ?? {};
  if (filter.state === undefined && filter.tag === undefined) {
    const page = await ports.store.listSessions(tenant, options.limit, options.after);
    return { sessions: page.sessions, next: page.next };
  }
  const found: SessionRecord[] = [];
  let after = options.after;
  for (let scanned = 0; scanned < LIST_SCAN_LIMIT; ) {
    const page = await ports.store.listSessions(
      tenant,
      Math.min(SCAN_PAGE, LIST_SCAN_LIMIT - scanned),
      after,
    );
    scanned += page.sessions.length;
    for (const s of page.sessions) {
      if (!matches(s, filter)) continue;
      found.push(s);
      // Full: the next page starts after the last session returned.
      if (found.length === options.limit)
        return { sessions: found, next: tenantSk(s.createdAt, s.sessionId) };
    }
    after = page.next;
    if (after === undefined) return { sessions: found };
  }
  return { sessions: found, next: after };
}

/** What a session list shows of each session. */
export interface SessionSummary {
  counts: TaskCounts;
  /** Share of tasks finished, 0..1 (1 for a session without tasks). */
  progress: number;
  settled: boolean;
  /** Cost so far at list price (see priceSessionUsage). */
  costDollars: number;
  /** Tasks finished per second lately (see throughputPerSec). */
  throughputPerSec: number;
}

/**
 * Summarizes a session: its counter shards, its usage shards and its newest few history
 * snapshots (three reads, whatever the session's size).
 */
export async function summarizeSession(ports: GridPorts, session: SessionRecord): Promise<SessionSummary> {
  const key: SessionKey = session;
  const [counters, usage, recent] = await Promise.all([
    ports.store.getCounters(key),
    ports.store.getUsage(key),
    ports.store.readHistory(key, SUMMARY_HISTORY),
  ]);
  const now = ports.clock.now();
  const counts = countsOf(counters);
  const finished = finishedCount(counts);
  const current: HistoryPoint = historyPoint(now, counts);
  return {
    counts,
    progress: counts.total === 0 ? 1 : finished / counts.total,
    settled: isSessionSealed(session, now) && finished === counts.total,
    costDollars: priceSessionUsage(usage).dollars,
    throughputPerSec: throughputPerSec(recent, current, session.createdAt),
  };
}

/**
 * Summaries of many sessions (a page of the list), 16 at a time: each is three reads at once,
 * and a page of 100 started together would queue behind the SDK's connection pool (50 sockets).
 */
export function summarizeSessions(
  ports: GridPorts,
  sessions: readonly SessionRecord[],
): Promise<SessionSummary[]> {
  return mapLimit(sessions, 16, (s) => summarizeSession(ports, s));
}
