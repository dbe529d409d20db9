import { byteLength } from "../engine/chunking.ts";
import { pad } from "../engine/keys.ts";
import type { SessionKey, TaskOutcome } from "../model/records.ts";
import {
  decodeCursor,
  encodeCursor,
  entryNumber,
  type GroupPosition,
  MAX_SEEN_PER_GROUP,
  startCursor,
} from "../model/results-cursor.ts";
import { isTerminalSlot, SessionState } from "../model/status.ts";
import { LATE_COMMIT_MS } from "./commit.ts";
import type { GridPorts } from "./grid-ports.ts";
import { getSession } from "./sessions.ts";
import { resolveResults } from "./tasks.ts";

/** Options of {@link readResultsPage}. */
export interface ResultsPageOptions {
  /** The `cursor` of the previous page; absent to start from the beginning. */
  cursor?: string | undefined;
  /** Most outcomes in the page (a page may exceed it by the rest of one completion entry). @default 1000 */
  limit?: number;
  /**
   * Stop adding entries once their results exceed this many bytes. A page holds at least one
   * entry, and an entry carries at most ENTRY_RESULT_BYTES, so a page stays under this plus that.
   * @default 3 MiB
   */
  maxBytes?: number;
  /** Re-read window for commits that landed after later-stamped ones. @default 5000 */
  overlapMs?: number;
}

/** One page of a session's results. */
export interface ResultsPage {
  outcomes: TaskOutcome[];
  /** Pass back to continue after this page. */
  cursor: string;
  /** True when no more results can come: the session is not open and every task was delivered. */
  settled: boolean;
}

/**
 * Reads the outcomes completed since a cursor. Stateless on the server: the cursor carries the
 * reader's position per key group, so the work of a call follows the new results (plus the
 * overlap window), and groups already fully delivered are not read again. Outcomes are
 * delivered once, except when more than MAX_SEEN_PER_GROUP entries of one group land within
 * the overlap window, where an outcome may come twice: readers that must not see duplicates
 * drop repeated task indexes (the SDK does).
 */
export async function readResultsPage(
  ports: GridPorts,
  key: SessionKey,
  options: ResultsPageOptions = {},
): Promise<ResultsPage> {
  const session = await getSession(ports, key);
  const now = ports.clock.now();
  const cursor = options.cursor
    ? decodeCursor(options.cursor, key.sessionId, now)
    : startCursor(key.sessionId, now);
  const limit = options.limit ?? 1_000;
  const maxBytes = options.maxBytes ?? 3 * 1024 * 1024;
  const overlapMs = options.overlapMs ?? 5_000;
  const closed = session.state !== SessionState.OPEN;
  const page: Page = { outcomes: [], bytes: 0, full: false, limit, maxBytes };

  for (let group = 0; group < session.groups && !page.full; group++) {
    if (cursor.done.has(group)) continue;
    const position = cursor.groups.get(group) ?? { horizon: -1, seen: new Set<number>() };
    const candidate =
      closed && (await isGroupSettled(ports, key, group, position, session.updatedAt, now, overlapMs));
    const fresh = await readGroup(ports, key, group, position, overlapMs, page);
    if (candidate && fresh === 0 && !page.full) {
      cursor.groups.delete(group);
      cursor.done.add(group);
    } else {
      cursor.groups.set(group, position);
    }
  }
  return {
    outcomes: page.outcomes,
    cursor: encodeCursor(cursor, now),
    settled: closed && cursor.done.size >= session.groups,
  };
}

/**
 * A submit that read the session as OPEN may still be inserting chunks this long after a close
 * (the API's integration timeout is 30 s).
 */
export const CLOSE_GRACE_MS = 60_000;

/**
 * True when every chunk of a group is terminal for good, so that, once its completion entries
 * are read, the group can be marked delivered. Checked before the read: a chunk turns terminal
 * in the same write that stores its completion entry, so what this saw settled, the read finds.
 * The session must have been closed for CLOSE_GRACE_MS (no insert in flight), the group's last
 * commit must be older than any late landing, and the eventually consistent `due` index only
 * filters: the decision is a strongly consistent read of the chunks.
 */
async function isGroupSettled(
  ports: GridPorts,
  key: SessionKey,
  group: number,
  position: GroupPosition,
  closedAt: number,
  now: number,
  overlapMs: number,
): Promise<boolean> {
  if (now - closedAt < CLOSE_GRACE_MS || position.horizon > now - overlapMs - LATE_COMMIT_MS) return false;
  if ((await ports.store.listDueChunks(key, group, Number.POSITIVE_INFINITY, 1)).length > 0) return false;
  const chunks = await ports.store.listChunks(key, group);
  return chunks.every((c) => [...c.slots].every(isTerminalSlot));
}

interface Page {
  outcomes: TaskOutcome[];
  bytes: number;
  full: boolean;
  limit: number;
  maxBytes: number;
}

/**
 * Reads a group's entries after its position into `page`; returns how many were new. The read
 * starts `overlapMs` below the horizon, so every entry of the new window is met again: the seen
 * set is rebuilt from what the read met (an early stop keeps the old ids too).
 */
async function readGroup(
  ports: GridPorts,
  key: SessionKey,
  group: number,
  position: GroupPosition,
  overlapMs: number,
  page: Page,
): Promise<number> {
  let fresh = 0;
  const met = new Map<number, number>();
  let stopped = false;
  let after = position.horizon < 0 ? undefined : pad(Math.max(0, position.horizon - overlapMs), 13);
  read: for (;;) {
    const read = await ports.store.readCompletions(key, group, after, 200);
    for (const entry of read.entries) {
      const at = Number(entry.sortKey.slice(0, 13));
      const id = entryNumber(entry.chunkStart, Number(entry.sortKey.slice(-3)));
      if (position.seen.has(id) || met.has(id)) {
        met.set(id, Math.max(met.get(id) ?? at, at));
        continue;
      }
      if (page.outcomes.length >= page.limit || (page.bytes >= page.maxBytes && page.outcomes.length > 0)) {
        page.full = true;
        stopped = true;
        break read;
      }
      const outcomes = await resolveResults(ports, entry);
      for (const o of outcomes) page.bytes += byteLength(o.result ?? "") + byteLength(o.error?.message ?? "");
      page.outcomes.push(...outcomes);
      // Kept at least until the horizon passes the time it was delivered by the overlap: a
      // re-published copy of a late commit arrives within that window and is skipped.
      met.set(id, Math.max(at, position.horizon));
      position.horizon = Math.max(position.horizon, at);
      fresh++;
    }
    if (!read.next) break;
    after = read.next;
  }
  const floor = position.horizon - overlapMs;
  const window = [...met].filter(([, at]) => at >= floor).sort((a, b) => b[1] - a[1]);
  const seen = new Set(window.slice(0, MAX_SEEN_PER_GROUP).map(([id]) => id));
  if (stopped) for (const id of position.seen) seen.add(id);
  position.seen = seen;
  return fresh;
}
