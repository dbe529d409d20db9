import { attachCompletion } from "../engine/completions.ts";
import { leaseVisibilitySeconds, secondsUntil } from "../engine/lease.ts";
import { planClaim, type RunnableTask } from "../engine/transitions.ts";
import type { ChunkRecord, SessionRecord } from "../model/records.ts";
import { SessionState } from "../model/status.ts";
import { decodeTicket, type Ticket } from "../model/ticket.ts";
import { type ChunkWrite, type ChunkWriteResult, chunkWrite } from "../ports/task-store.ts";
import type { ReceivedTicket } from "../ports/ticket-queue.ts";
import type { GridPorts } from "./grid-ports.ts";
import { leaseId } from "./held-lease.ts";
import { type LoadedPayloads, loadPayloads } from "./payloads.ts";
import type { TicketAcker } from "./ticket-acker.ts";

/** A chunk won by a claim: its new record and the tasks to run. */
export interface WonClaim {
  queue: string;
  receipt: string;
  ticket: Ticket;
  chunk: ChunkRecord;
  runnable: RunnableTask[];
  /** The session's cancel epoch as the claim read it. */
  cancelEpoch: number;
  /** Payloads loaded before the claim was written (careful claims: their runs start at once). */
  payloads?: LoadedPayloads | undefined;
  /**
   * Give the runs straight back (attempts refunded) instead of running them: the retake of a
   * careful lease, whose charged runs should have started when it was claimed.
   */
  giveBack?: boolean | undefined;
  /** A careful claim (see planClaim): the worker takes up its leftovers itself after it. */
  careful?: boolean | undefined;
}

/**
 * Whether a claimed ticket, received hidden for `received` seconds, must be re-timed to `hidden`
 * (its lease plus a margin): when it would stay hidden well past the lease (a dead worker's
 * tasks would wait for it), or come back before the lease's first heartbeat re-times it (a third
 * of the lease). Otherwise the claim costs no visibility call.
 */
function needsRetime(received: number, hidden: number, leaseMs: number): boolean {
  return received > hidden + 2 || received < leaseMs / 3_000 + 2;
}

/** Seconds before a ticket whose claim lost a race (or waits for a free slot) is offered again. */
const RETRY_SOON_SECONDS = 1;

/** Longest wait before a ticket whose claim met store errors is offered again. */
const MAX_ERROR_BACKOFF_SECONDS = 300;

/**
 * Seconds before a ticket whose claim met a store error (throttling, an outage) is offered again:
 * doubling with each receive, up to five minutes, so that hours of errors pass before its
 * queue's redrive policy dead-letters it (and even then no task with attempts left fails).
 */
export function errorBackoffSeconds(receiveCount: number): number {
  return Math.min(MAX_ERROR_BACKOFF_SECONDS, 2 ** Math.max(0, Math.min(receiveCount - 1, 16)));
}

/** Seconds past a live lease's end at which its duplicate ticket is offered again. */
const AFTER_LEASE_SECONDS = 2;

async function loadSessions(
  ports: GridPorts,
  tickets: Ticket[],
): Promise<Map<string, SessionRecord | undefined>> {
  const sessions = new Map<string, SessionRecord | undefined>();
  for (const t of tickets) {
    const id = `${t.tenant}/${t.sessionId}`;
    if (!sessions.has(id)) sessions.set(id, await ports.store.getSession(t));
  }
  return sessions;
}

/**
 * Claims the chunks of up to ten received tickets: one batch read of the records, one read per
 * distinct session, one batch of conditional writes. Tickets of terminal chunks are
 * acknowledged. A ticket of a chunk leased by another live owner is offered again just after
 * that lease ends: if the owner died, its tasks run again then, not when the reaper notices. A
 * chunk in retry backoff has its ticket re-timed to the backoff's end. Store errors re-time the
 * ticket with a backoff that grows with its receive count. A claim whose write failed without
 * an answer is read back: if it landed, the chunk is this worker's.
 */
export async function claimTickets(
  ports: GridPorts,
  owner: string,
  acker: TicketAcker,
  queue: string,
  received: readonly ReceivedTicket[],
  held: ReadonlySet<string>,
  /** Tasks this worker can start at once (see ClaimContext.startable). */
  startable: number = Number.POSITIVE_INFINITY,
  /**
   * Claims whose write got no answer and could not be read back: they may have landed. The
   * worker reads them back later (see Dispatcher.heartbeat) and runs those that did.
   */
  onUnanswered?: (claim: WonClaim) => void,
  /** The visibility the tickets were received with. @default the queue's visibility timeout */
  receiveVisibilitySeconds?: number,
): Promise<WonClaim[]> {
  const visibility =
    receiveVisibilitySeconds ??
    ports.grid.queues.find((q) => q.name === queue)?.visibilityTimeoutSeconds ??
    60;
  const picked: Array<{ ticket: Ticket; receipt: string; receiveCount: number }> = [];
  const seen = new Set<string>();
  for (const r of received) {
    const ticket = decodeTicket(r.body);
    const id = ticket && leaseId(ticket);
    if (!ticket || !id || seen.has(id) || held.has(id)) {
      acker.ack(queue, r.receipt); // not a ticket, or a duplicate of one in hand
      continue;
    }
    seen.add(id);
    picked.push({ ticket, receipt: r.receipt, receiveCount: r.receiveCount });
  }
  if (picked.length === 0) return [];

  let chunks: Array<ChunkRecord | undefined>;
  let sessions: Map<string, SessionRecord | undefined>;
  try {
    chunks = await ports.store.getChunks(picked.map((p) => p.ticket));
    sessions = await loadSessions(
      ports,
      picked.map((p) => p.ticket),
    );
  } catch {
    for (const p of picked) acker.retime(queue, p.receipt, errorBackoffSeconds(p.receiveCount));
    return [];
  }

  const now = ports.clock.now();
  let room = startable;
  const writes: ChunkWrite[] = [];
  const pending: Array<{
    at: number;
    receipt: string;
    receiveCount: number;
    ticket: Ticket;
    runnable?: RunnableTask[];
    cancelEpoch: number;
    careful: boolean;
    giveBack: boolean;
    payloads?: LoadedPayloads | undefined;
  }> = [];
  picked.forEach(({ ticket, receipt, receiveCount }, i) => {
    const chunk = chunks[i];
    if (!chunk) {
      acker.ack(queue, receipt); // a ticket for a chunk that was never stored
      return;
    }
    const session = sessions.get(`${ticket.tenant}/${ticket.sessionId}`);
    const sessionState = session?.state ?? SessionState.CANCELLED;
    const plan = planClaim(chunk, { now, owner, sessionState, timing: ports.timing, startable: room });
    switch (plan.kind) {
      case "settled":
        acker.ack(queue, receipt);
        return;
      case "busy":
        acker.retime(queue, receipt, secondsUntil(plan.leaseUntil, now) + AFTER_LEASE_SECONDS);
        return;
      case "defer":
        acker.retime(queue, receipt, RETRY_SOON_SECONDS);
        return;
      case "wait":
        acker.retime(queue, receipt, secondsUntil(plan.notBefore, now));
        return;
      case "finalize":
      case "claim": {
        const completion =
          plan.outcomes.length > 0
            ? attachCompletion(plan.next, plan.outcomes, now, { owner, fence: plan.next.fence })
            : undefined;
        if (plan.kind === "claim" && plan.careful) room -= plan.runnable.length;
        pending.push({
          at: writes.length,
          receipt,
          receiveCount,
          ticket,
          runnable: plan.kind === "claim" ? plan.runnable : undefined,
          cancelEpoch: session?.cancelEpoch ?? 0,
          careful: plan.kind === "claim" && plan.careful,
          // This worker's own careful lease, retaken (its claim's answer was lost).
          giveBack: plan.kind === "claim" && !plan.careful && chunk.charged === true && chunk.owner === owner,
        });
        writes.push(chunkWrite(chunk, plan.next, completion));
      }
    }
  });
  if (writes.length === 0) return [];

  // A careful claim charges its runs an attempt, so they must start the moment it lands: their
  // payloads are loaded first (one try: the ticket's backoff is the retry), and one that cannot
  // be read is not claimed now.
  await Promise.all(
    pending.map(async (p) => {
      if (p.careful) p.payloads = await loadPayloads(ports, writes[p.at]!.chunk, p.ticket, 0);
    }),
  );
  const kept = pending.filter((p) => {
    if (!p.payloads || !("unreadable" in p.payloads)) return true;
    acker.retime(queue, p.receipt, errorBackoffSeconds(p.receiveCount));
    return false;
  });
  if (kept.length === 0) return [];
  const keptWrites = kept.map((p) => writes[p.at]!);

  let results: ChunkWriteResult[];
  try {
    results = await ports.store.writeChunks(keptWrites);
  } catch {
    results = keptWrites.map(() => "error");
  }
  const unknown = await readBack(ports, keptWrites, results);
  const won: WonClaim[] = [];
  kept.forEach((p, i) => {
    const chunk = keptWrites[i]!.chunk;
    const claim = (runnable: RunnableTask[]): WonClaim => ({
      queue,
      receipt: p.receipt,
      ticket: p.ticket,
      chunk,
      runnable,
      cancelEpoch: p.cancelEpoch,
      payloads: p.payloads,
      giveBack: p.giveBack,
      careful: p.careful,
    });
    if (results[i] === "conflict") {
      acker.retime(queue, p.receipt, RETRY_SOON_SECONDS); // lost a race: look again soon
    } else if (results[i] !== "ok") {
      acker.retime(queue, p.receipt, errorBackoffSeconds(p.receiveCount));
      if (unknown.has(i) && p.runnable) onUnanswered?.(claim(p.runnable));
    } else if (p.runnable) {
      // The ticket stays hidden while the lease is kept (heartbeats re-time it), and comes back
      // just after the lease would end if this worker dies: its tasks then run again at once.
      const hidden = leaseVisibilitySeconds(chunk.leaseMs);
      if (needsRetime(visibility, hidden, chunk.leaseMs)) acker.retime(queue, p.receipt, hidden);
      // Careful claims first: their runs take the free task slots before any other run.
      if (p.careful) won.unshift(claim(p.runnable));
      else won.push(claim(p.runnable));
    } else {
      acker.ack(queue, p.receipt); // finalized: nothing left to run
    }
  });
  return won;
}

/**
 * Claims whose write failed without an answer may have landed: each is read back, and one whose
 * record is the write's own counts as landed. Returns the positions still unanswered: unread, or
 * read showing a later lease (this claim may have landed and been superseded since).
 */
async function readBack(
  ports: GridPorts,
  writes: readonly ChunkWrite[],
  results: ChunkWriteResult[],
): Promise<Set<number>> {
  const unanswered = results.flatMap((r, i) => (r === "error" ? [i] : []));
  if (unanswered.length === 0) return new Set();
  let records: Array<ChunkRecord | undefined>;
  try {
    records = await ports.store.getChunks(unanswered.map((i) => writes[i]!.chunk));
  } catch {
    return new Set(unanswered);
  }
  const unknown = new Set<number>();
  unanswered.forEach((i, k) => {
    const found = records[k];
    const written = writes[i]!.chunk;
    if (isOwnWrite(found, written)) results[i] = "ok";
    // A later fence: this claim may have landed and been superseded since (else it did not land).
    else if (found && found.fence > written.fence) unknown.add(i);
  });
  return unknown;
}

/**
 * True when `found` shows the lease `written` by this worker's claim: same owner and fence (a
 * fence is taken by one claim only; a cancel request since may have moved the version).
 */
export function isOwnWrite(found: ChunkRecord | undefined, written: ChunkRecord): boolean {
  return (
    found !== undefined &&
    found.version >= written.version &&
    found.owner === written.owner &&
    found.fence === written.fence
  );
}
