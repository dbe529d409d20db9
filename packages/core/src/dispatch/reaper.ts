import { attachCompletion } from "../engine/completions.ts";
import { ACTIVE_SHARDS, queueNameOf } from "../engine/keys.ts";
import { secondsUntil } from "../engine/lease.ts";
import { deadLetter, planReap } from "../engine/transitions.ts";
import { Limits } from "../model/limits.ts";
import type { ChunkKey, SessionKey, SessionRecord } from "../model/records.ts";
import { SessionState } from "../model/status.ts";
import { decodeTicket } from "../model/ticket.ts";
import { type ChunkWrite, chunkWrite } from "../ports/task-store.ts";
import type { OutgoingTicket } from "../ports/ticket-queue.ts";
import { getOrCreate, mapLimit } from "../util.ts";
import { cancelChunksOfSession } from "./cancel-walk.ts";
import type { GridPorts } from "./grid-ports.ts";
import { recordSessionHistory } from "./session-history.ts";
import { sealSession } from "./sessions.ts";
import { ticketFor } from "./submitter.ts";

/** What one reaper pass did. */
export interface ReapReport {
  sessions: number;
  /** Chunks whose ticket was re-sent (expired lease, lost or never-sent ticket). */
  redriven: number;
  /** Settled chunks dropped from the due index. */
  cleaned: number;
  /** Tasks failed from dead-lettered tickets (only those whose attempts were used up). */
  deadLettered: number;
  /** Dead-letter messages read (all of them are deleted once handled). */
  deadLetterMessages: number;
  /** Sessions dropped from the active index: settled closed or cancelled ones, and idle open ones. */
  deactivated: number;
  /** Active sessions this pass did not reach before its time was up (the next pass starts there). */
  deferred: number;
  /** Sessions or queues skipped this pass because a call failed (the next pass retries). */
  errors: number;
  /** History snapshots written (see session-history.ts). */
  snapshots: number;
}

/** Due chunks handled per group per pass. */
const DUE_PAGE = 100;
/**
 * Most key groups of one session a pass visits: a session spread over more groups is covered
 * over several passes (each resuming where the last stopped), so one tenant's huge session
 * cannot hold up the reaping of every other.
 */
export const REAP_GROUPS_PER_PASS = 256;
/** Chunks of a cancelled session a pass cancels; the next pass goes on. */
const CANCEL_CHUNKS_PER_PASS = 2_000;
/** Sessions reaped at once (over every shard of the active index). */
const SESSION_CONCURRENCY = 16;
/**
 * An OPEN session leaves the active index once no submit marked it for this long (see
 * TOUCH_EVERY_MS) and a whole cycle of its groups found nothing pending; its next submit puts it
 * back. Far longer than any submit request and any index lag.
 */
export const IDLE_SESSION_MS = 10 * 60_000;
/** Groups of one session reaped at once. */
const GROUP_CONCURRENCY = 4;

/** Options of a reaper pass. */
export interface ReapOptions {
  /** Most dead-letter messages handled per queue per pass. @default 1000 */
  maxDeadLetters?: number;
  /**
   * Where each session's walk over its groups stands: keep one map across passes (per reaper
   * process), and each pass reaps one window of each session. Without it, a pass walks every
   * window of every session (tests, simulations).
   */
  walks?: Map<string, SessionWalk>;
  /**
   * The pass stops starting sessions after this long (a scheduled reaper's pass must end before
   * the next one starts); those not reached are reaped first by the next pass that is given the
   * same `resume`. @default unlimited
   */
  budgetMs?: number;
  /** Where the last time-boxed pass stopped: keep one object across passes (per reaper process). */
  resume?: ReapResume;
}

/** Where a time-boxed reaper pass stopped. */
export interface ReapResume {
  /** `tenant/sessionId` of the last session reached, in the pass order; the next pass starts after it. */
  after?: string | undefined;
}

async function reapGroup(
  ports: GridPorts,
  session: SessionRecord,
  group: number,
  report: ReapReport,
): Promise<void> {
  const now = ports.clock.now();
  const keys = await ports.store.listDueChunks(session, group, now, DUE_PAGE);
  if (keys.length === 0) return;
  const chunks = await ports.store.getChunks(keys);
  const writes: ChunkWrite[] = [];
  const sends = new Map<string, OutgoingTicket[]>();
  /** Re-drives by position in `writes`: to the session's own queue, or to the recovery lane. */
  const redriven = new Map<number, string>();
  for (const chunk of chunks) {
    if (!chunk) continue;
    const plan = planReap(chunk, now, ports.timing);
    if (plan.kind === "none") continue;
    if (plan.kind === "redrive") {
      // A chunk whose lease expired held work that had started (its worker died or stalled):
      // it goes to its pool's high-priority queue, which workers serve first, instead of behind
      // its own queue's backlog (where its own ticket, back from its visibility, waits too).
      const expired = chunk.owner !== undefined && isLeaseExpired(chunk, now);
      redriven.set(
        writes.length,
        queueNameOf(session.config.pool, expired ? "high" : session.config.priority),
      );
    }
    writes.push(chunkWrite(chunk, plan.next));
  }
  if (writes.length === 0) return;
  const results = await ports.store.writeChunks(writes);
  results.forEach((r, i) => {
    if (r !== "ok") return; // someone else touched it: it is not stuck
    const queue = redriven.get(i);
    if (queue !== undefined) {
      const chunk = writes[i]!.chunk;
      const ticket = ticketFor(chunk);
      if (chunk.notBefore > now)
        ticket.delaySeconds = Math.min(Limits.MAX_DELAY_SECONDS, secondsUntil(chunk.notBefore, now));
      getOrCreate(sends, queue, () => []).push(ticket);
      report.redriven++;
    } else {
      report.cleaned++;
    }
  });
  for (const [queue, tickets] of sends) await ports.queue.send(queue, tickets);
}

/** True when a chunk carries a lease that has ended (its owner neither committed nor renewed it). */
function isLeaseExpired(chunk: { leaseUntil?: number | undefined }, now: number): boolean {
  return chunk.leaseUntil !== undefined && chunk.leaseUntil <= now;
}

/** True when any of `groups` still has a chunk that is not terminal. */
async function hasPendingChunks(
  ports: GridPorts,
  session: SessionRecord,
  groups: number[],
): Promise<boolean> {
  for (const group of groups)
    if ((await ports.store.listDueChunks(session, group, Number.POSITIVE_INFINITY, 1)).length > 0)
      return true;
  return false;
}

/** A session's walk over its groups, across passes. */
export interface SessionWalk {
  /** The last group of the previous window (the next starts after it); undefined: from the start. */
  after?: number | undefined;
  /** A group met in this cycle of windows still had chunks that are not terminal. */
  pending: boolean;
  /**
   * This cycle renews the expiry of the session's items that its tasks do not rewrite, since
   * this time (it began when the session was `renewDue`): each window renews its groups, the
   * cycle's end the rest. Dropped by a window that failed: the next cycle starts over.
   */
  renewing?: number | undefined;
}

async function reapSession(
  ports: GridPorts,
  key: SessionKey,
  report: ReapReport,
  walks?: Map<string, SessionWalk>,
): Promise<void> {
  let session = await ports.store.getSession(key);
  if (!session) {
    await ports.store.deactivateSession(key);
    return;
  }
  report.sessions++;
  const renewDue = session.renewDue === true;
  // A close or cancel that died before sealing every group is carried on here.
  if (session.state !== SessionState.OPEN && !session.sealed) session = await sealSession(ports, session);
  // Progress over time for the dashboard: at most one small write per session per pass, and
  // none while its counts stand still. A failed snapshot only leaves a wider gap in the chart.
  if (await recordSessionHistory(ports, session).catch(() => false)) report.snapshots++;
  // This pass's window: at most REAP_GROUPS_PER_PASS groups, after the last pass's. The walk
  // moves on before the window is reaped: a window that keeps failing cannot pin it.
  const id = `${key.tenant}/${key.sessionId}`;
  const walk: SessionWalk = walks?.get(id) ?? { pending: false };
  // The table expires every item the retention after its last write. An active session's
  // directory entries, group locks and counter and usage shards may go unwritten for longer
  // than that (a long session, a slow queue), and losing one mid-session would lose groups or
  // counts: a cycle of windows that starts once the store says they are due renews them all,
  // about daily (see DynamoTaskStore), off the tasks' path; the session record last.
  if (walk.after === undefined) walk.renewing = renewDue ? ports.clock.now() : undefined;
  const current = session;
  for (;;) {
    const window = await ports.store.listGroups(current, walk.after, REAP_GROUPS_PER_PASS);
    if (window.next !== undefined) walks?.set(id, { after: window.next, pending: true });
    else walks?.delete(id); // the cycle ends: the next pass starts again from the first group
    if (current.state === SessionState.CANCELLED)
      await cancelChunksOfSession(ports, current, {
        groups: window.groups,
        maxChunks: CANCEL_CHUNKS_PER_PASS,
      });
    await mapLimit(window.groups, GROUP_CONCURRENCY, (group) => reapGroup(ports, current, group, report));
    if (walk.renewing !== undefined) await ports.store.renewGroups(current, window.groups);
    // A session leaves the active index once a whole cycle of windows found no chunk that is not
    // terminal and no task can come: sealed (and quiet for a while), or open but idle, no submit
    // having marked it for IDLE_SESSION_MS (its next submit puts it back; see touchSession).
    const now = ports.clock.now();
    const idleOpen =
      current.state === SessionState.OPEN &&
      now - (current.lastSubmitAt ?? current.createdAt) > IDLE_SESSION_MS;
    const candidate = (current.sealed && now - current.updatedAt > ports.timing.ticketGraceMs) || idleOpen;
    const pending = walk.pending || !candidate || (await hasPendingChunks(ports, current, window.groups));
    if (window.next !== undefined) {
      walk.after = window.next;
      walk.pending = pending;
      walks?.set(id, { ...walk });
      if (walks) return; // the next pass goes on from here
      continue; // no map to remember the walk by: this pass walks every window
    }
    if (walk.renewing !== undefined) await ports.store.renewSession(current, walk.renewing);
    if (!pending) {
      // An open session only if no submit marked it since it was read (one that did is busy).
      await ports.store.deactivateSession(
        current,
        current.state === SessionState.OPEN ? { lastSubmitAt: current.lastSubmitAt } : undefined,
      );
      report.deactivated++;
    }
    return;
  }
}

/** Reads a dead-letter queue and turns its tickets into FAILED tasks; every message is deleted. */
async function drainDeadLetters(
  ports: GridPorts,
  dlq: string,
  report: ReapReport,
  maxMessages: number,
): Promise<void> {
  for (let read = 0; read < maxMessages; ) {
    const received = await ports.queue.receive(dlq, { max: 10, waitSeconds: 0, visibilitySeconds: 60 });
    if (received.length === 0) return;
    const acks: string[] = [];
    for (const r of received) {
      read++;
      report.deadLetterMessages++;
      const ticket = decodeTicket(r.body);
      if (!ticket) {
        acks.push(r.receipt); // not a ticket: nothing to fail
        continue;
      }
      if (await failChunk(ports, ticket, r.receiveCount, report)) acks.push(r.receipt);
    }
    if (acks.length > 0) await ports.queue.ack(dlq, acks);
  }
}

async function failChunk(
  ports: GridPorts,
  key: ChunkKey,
  receiveCount: number,
  report: ReapReport,
): Promise<boolean> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const [chunk] = await ports.store.getChunks([key]);
    if (!chunk) return true;
    const now = ports.clock.now();
    const change = deadLetter(chunk, now, receiveCount, ports.timing);
    if (!change) return true;
    const completion =
      change.outcomes.length > 0
        ? attachCompletion(change.next, change.outcomes, now, { fence: chunk.fence })
        : undefined;
    const [r] = await ports.store.writeChunks([chunkWrite(chunk, change.next, completion)]);
    if (r === "ok") {
      report.deadLettered += change.outcomes.filter((o) => o.status === "FAILED").length;
      if (change.redrive) {
        // Its other tasks go on: a fresh ticket (at the retry backoff's end, if any).
        const ticket = ticketFor(change.next);
        if (change.next.notBefore > now)
          ticket.delaySeconds = Math.min(Limits.MAX_DELAY_SECONDS, secondsUntil(change.next.notBefore, now));
        await ports.queue.send(queueNameOf(chunk.pool, chunk.priority), [ticket]);
        report.redriven++;
      }
      return true;
    }
  }
  return false; // kept busy: leave the message for the next pass
}

/**
 * One reaper pass: re-drives whatever crashes left behind (expired leases, lost or never-sent
 * tickets) through the `due` index of each active session, finishes the cancel walk of
 * cancelled sessions, and handles dead-lettered tickets (their tasks with attempts left are
 * queued again, the rest FAILED). It reads indexes only, never the whole table; its cost follows
 * the active sessions, not the data kept, and idle sessions leave the active index.
 *
 * Order: the dead-letter queues first (however long the sessions take), then the active
 * sessions of every shard, listed in parallel and reaped 16 at a time, starting after where the
 * last time-boxed pass stopped (`resume`), until `budgetMs` is spent.
 */
export async function reap(ports: GridPorts, options: ReapOptions = {}): Promise<ReapReport> {
  const report: ReapReport = {
    sessions: 0,
    redriven: 0,
    cleaned: 0,
    deadLettered: 0,
    deadLetterMessages: 0,
    deactivated: 0,
    deferred: 0,
    errors: 0,
    snapshots: 0,
  };
  const deadline = ports.clock.now() + (options.budgetMs ?? Number.POSITIVE_INFINITY);
  await mapLimit(ports.grid.queues, 4, (q) =>
    drainDeadLetters(ports, q.deadLetter, report, options.maxDeadLetters ?? 1000).catch(() => {
      report.errors++;
    }),
  );
  const shards = await mapLimit(
    Array.from({ length: ACTIVE_SHARDS }, (_, shard) => shard),
    ACTIVE_SHARDS,
    (shard) =>
      ports.store.listActiveSessions(shard).catch(() => {
        report.errors++;
        return [] as SessionKey[];
      }),
  );
  const id = (k: SessionKey) => `${k.tenant}/${k.sessionId}`;
  const all = shards.flat().sort((a, b) => (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0));
  // Start after the last session the previous pass reached: every session gets its turn.
  const after = options.resume?.after;
  const from = after === undefined ? 0 : all.findIndex((k) => id(k) > after);
  const order = from <= 0 ? all : [...all.slice(from), ...all.slice(0, from)];
  let next = 0;
  let last: string | undefined;
  await mapLimit(
    Array.from({ length: Math.min(SESSION_CONCURRENCY, order.length) }),
    SESSION_CONCURRENCY,
    async () => {
      while (next < order.length && ports.clock.now() < deadline) {
        const key = order[next++]!;
        last = id(key);
        // One failing session must not starve the others.
        await reapSession(ports, key, report, options.walks).catch(() => {
          report.errors++;
        });
      }
    },
  );
  report.deferred = order.length - next;
  if (options.resume) options.resume.after = report.deferred > 0 ? last : undefined;
  return report;
}
