import { byteLength } from "../engine/chunking.ts";
import { groupStart, pad } from "../engine/keys.ts";
import { assertId } from "../model/ids.ts";
import { Limits } from "../model/limits.ts";
import type { CompletionEntry, SessionKey, TaskOutcome } from "../model/records.ts";
import {
  decodeCursor,
  encodeCursor,
  type GroupPosition,
  type GroupScan,
  newGroupPosition,
  startCursor,
} from "../model/results-cursor.ts";
import { isTerminalSlot } from "../model/status.ts";
import type { GridPorts } from "./grid-ports.ts";
import { sessionGroups } from "./groups.ts";
import { getSession, isSessionSealed } from "./sessions.ts";
import { resolveResults } from "./tasks.ts";

/**
 * Most groups whose completions one page reads: a page's work stays bounded however many groups
 * a session spreads over (the next page resumes the walk where this one stopped).
 */
export const MAX_GROUP_READS = 128;

/**
 * Most completion entries one page reads, delivered or not (a full re-read of a group meets
 * entries already delivered): an interrupted read carries on from where it stopped.
 */
export const MAX_ENTRIES_READ = 2_000;

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
  /**
   * Re-read window below the newest commit time read, for commits that landed after
   * later-stamped ones (write latency, small clock differences). @default 5000
   */
  overlapMs?: number;
  /**
   * A group in progress has its whole completion partition re-read this often, so a commit
   * stamped further back than the overlap window (a writer whose clock is behind) is delivered
   * all the same. @default 30000
   */
  fullReadMs?: number;
}

/** One page of a session's results. */
export interface ResultsPage {
  outcomes: TaskOutcome[];
  /** Pass back to continue after this page. */
  cursor: string;
  /** True when no more results can come: the session is sealed and every task was delivered. */
  settled: boolean;
}

interface Page {
  outcomes: TaskOutcome[];
  bytes: number;
  full: boolean;
  limit: number;
  maxBytes: number;
  /** Completion entries this page may still read (delivered or not): its work is bounded. */
  entriesLeft: number;
}

/**
 * Reads the outcomes completed since a cursor. Stateless on the server: the cursor carries the
 * reader's position per key group, so the work of a call follows the new results (plus the
 * overlap window and, once per `fullReadMs` per group in progress, a full re-read), and groups
 * already fully delivered are not read again. Groups come from the session's group directory:
 * only groups that hold tasks are visited.
 *
 * Exactly once: every outcome is delivered once per cursor chain, whatever the clocks of the
 * writers. A task is delivered only by its group's delivered set; positions never pass the
 * reader's own clock (a writer whose clock is ahead cannot push the window past later commits);
 * and a commit stamped before the window (a writer whose clock is behind) is met by the periodic
 * full re-read, and at the latest by the full read that precedes marking its group done.
 */
export async function readResultsPage(
  ports: GridPorts,
  key: SessionKey,
  options: ResultsPageOptions = {},
): Promise<ResultsPage> {
  assertId("tenant", key.tenant);
  assertId("sessionId", key.sessionId);
  const now = ports.clock.now();
  const cursor = options.cursor
    ? decodeCursor(options.cursor, key.sessionId, now)
    : startCursor(key.sessionId, now);
  const fromStart = cursor.resumeAt < 0;
  const after = fromStart ? cursor.doneThrough : cursor.resumeAt - 1;
  const start = after < 0 ? undefined : after;
  // The session first: a directory read that preceded it could miss a group created just
  // before the close that the session read then reports sealed.
  const session = await getSession(ports, key);
  const overlapMs = options.overlapMs ?? 5_000;
  const fullReadMs = options.fullReadMs ?? 30_000;
  const sealed = isSessionSealed(session, now);
  const page: Page = {
    outcomes: [],
    bytes: 0,
    full: false,
    limit: options.limit ?? 1_000,
    maxBytes: options.maxBytes ?? 3 * 1024 * 1024,
    entriesLeft: MAX_ENTRIES_READ,
  };

  // The walk over the groups: from the resume point (or the done watermark), at most
  // MAX_GROUP_READS groups read, so a request's work is bounded whatever the session's spread.
  let reads = 0;
  let complete = true; // the walk reached the directory's end
  let everyGroupDone = true;
  let contiguous = fromStart; // every group met so far is done (the watermark may advance)
  for await (const group of sessionGroups(ports, key, start)) {
    if (cursor.done.has(group)) {
      if (contiguous) {
        cursor.done.delete(group);
        cursor.doneThrough = group;
      }
      continue;
    }
    if (page.full || reads >= MAX_GROUP_READS) {
      cursor.resumeAt = group;
      complete = false;
      break;
    }
    reads++;
    const position = cursor.groups.get(group) ?? newGroupPosition();
    const done = await readGroup(ports, key, group, position, { now, overlapMs, fullReadMs, sealed }, page);
    if (done) {
      cursor.groups.delete(group);
      if (contiguous) cursor.doneThrough = group;
      else cursor.done.add(group);
      continue;
    }
    everyGroupDone = false;
    contiguous = false;
    // A group with nothing read yet costs the cursor nothing: its next read starts afresh.
    if (position.horizon < 0 && position.delivered.size === 0 && !position.scan) cursor.groups.delete(group);
    else cursor.groups.set(group, position);
    if (page.full) {
      // The page filled inside this group: the next page carries on with it.
      cursor.resumeAt = group;
      complete = false;
      break;
    }
  }
  if (complete) cursor.resumeAt = -1;
  return {
    outcomes: page.outcomes,
    cursor: encodeCursor(cursor, now),
    settled: sealed && fromStart && complete && everyGroupDone,
  };
}

interface ReadContext {
  now: number;
  overlapMs: number;
  fullReadMs: number;
  sealed: boolean;
}

/**
 * Reads a group's new entries into the page and says whether the group is now fully delivered.
 * A group is done once every index it can hold was delivered, or, in a sealed session, once
 * every one of its tasks was; when some are still missing although the group's chunks are all
 * terminal (checked strongly consistent, before the read: a chunk turns terminal in the write
 * that stores its entry), its whole partition is read, which delivers the rest.
 */
async function readGroup(
  ports: GridPorts,
  key: SessionKey,
  group: number,
  position: GroupPosition,
  ctx: ReadContext,
  page: Page,
): Promise<boolean> {
  let scan = position.scan;
  if (!scan) {
    const full = position.horizon < 0 || ctx.now - position.fullReadAt >= ctx.fullReadMs;
    scan = { full, after: full ? undefined : pad(Math.max(0, position.horizon - ctx.overlapMs), 13) };
  }
  if (!(await readPartition(ports, key, group, position, scan, ctx, page))) return false;
  // The full read that followed the check that every chunk is terminal has met every entry.
  if (scan.final || position.delivered.size >= Limits.GROUP_SIZE) return true;
  if (!ctx.sealed) return false;
  const lock = await ports.store.getGroup(key, group);
  if (!lock || position.delivered.size >= lock.tasks) return true;
  // Some tasks are not delivered: either not finished, or stamped before the window.
  if ((await ports.store.listDueChunks(key, group, Number.POSITIVE_INFINITY, 1)).length > 0) return false;
  const chunks = await ports.store.listChunks(key, group);
  if (!chunks.every((c) => [...c.slots].every(isTerminalSlot))) return false;
  return readPartition(ports, key, group, position, { full: true, final: true }, ctx, page);
}

/**
 * Reads a group's entries after `scan.after` (all of them when absent), adding the outcomes of
 * tasks not yet delivered to the page. Returns false when the page filled up, or its budget of
 * entries read ran out, before the end: the position then records where to carry on.
 */
async function readPartition(
  ports: GridPorts,
  key: SessionKey,
  group: number,
  position: GroupPosition,
  scan: GroupScan,
  ctx: ReadContext,
  page: Page,
): Promise<boolean> {
  const base = groupStart(group);
  let after = scan.after;
  // Reads start small and double: a page that fills after a few entries reads no more than it
  // needs (a read is billed for every entry it returns), a long read still takes 200 a call.
  for (let want = 32; ; want = Math.min(200, want * 2)) {
    const read = await ports.store.readCompletions(
      key,
      group,
      after,
      Math.max(1, Math.min(want, page.entriesLeft)),
    );
    for (const entry of read.entries) {
      const fresh = entry.outcomes.filter((o) => !position.delivered.has(o.index - base));
      const full =
        fresh.length > 0 &&
        (page.outcomes.length >= page.limit || (page.bytes >= page.maxBytes && page.outcomes.length > 0));
      if (full || page.entriesLeft <= 0) {
        page.full = true;
        // A window read that consumed nothing is simply read again next time (its start is a
        // time, not an entry's key); any other read carries on after its last entry.
        position.scan = !scan.full && after === scan.after ? undefined : { ...scan, after };
        return false;
      }
      page.entriesLeft--;
      if (fresh.length > 0) await deliver(ports, entry, position, base, page);
      // Never past the reader's own clock: a writer whose clock is ahead must not move the
      // window beyond commits that correct clocks stamp later.
      position.horizon = Math.max(position.horizon, Math.min(Number(entry.sortKey.slice(0, 13)), ctx.now));
      after = entry.sortKey;
    }
    if (!read.next) break;
    after = read.next;
  }
  position.scan = undefined;
  if (scan.full) position.fullReadAt = ctx.now;
  return true;
}

async function deliver(
  ports: GridPorts,
  entry: CompletionEntry,
  position: GroupPosition,
  base: number,
  page: Page,
): Promise<void> {
  for (const o of await resolveResults(ports, entry)) {
    if (!position.delivered.add(o.index - base)) continue;
    page.bytes += byteLength(o.result ?? "") + byteLength(o.error?.message ?? "");
    page.outcomes.push(o);
  }
}
