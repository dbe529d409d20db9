import { attachCompletion } from "../engine/completions.ts";
import { leaseVisibilitySeconds, secondsUntil } from "../engine/lease.ts";
import { planClaim, type RunnableTask } from "../engine/transitions.ts";
import type { ChunkRecord, SessionRecord } from "../model/records.ts";
import { SessionState } from "../model/status.ts";
import { decodeTicket, type Ticket } from "../model/ticket.ts";
import { type ChunkWrite, chunkWrite } from "../ports/task-store.ts";
import type { ReceivedTicket } from "../ports/ticket-queue.ts";
import type { GridPorts } from "./grid-ports.ts";
import { leaseId } from "./held-lease.ts";
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
}

/** Leases longer than this get their ticket re-timed at claim (receive visibility is 60 s). */
const LONG_LEASE_MS = 90_000;

/** Seconds before a ticket whose claim lost a race is offered again. */
const RETRY_SOON_SECONDS = 1;

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
 * acknowledged; duplicates of a chunk leased by a live owner are acknowledged too (the owner
 * holds its own ticket, and the reaper re-drives the chunk if that owner dies); a chunk in
 * retry backoff has its ticket re-timed to the backoff's end.
 */
export async function claimTickets(
  ports: GridPorts,
  owner: string,
  acker: TicketAcker,
  queue: string,
  received: readonly ReceivedTicket[],
  held: ReadonlySet<string>,
): Promise<WonClaim[]> {
  const picked: Array<{ ticket: Ticket; receipt: string }> = [];
  const seen = new Set<string>();
  for (const r of received) {
    const ticket = decodeTicket(r.body);
    const id = ticket && leaseId(ticket);
    if (!ticket || !id || seen.has(id) || held.has(id)) {
      acker.ack(queue, r.receipt); // not a ticket, or a duplicate of one in hand
      continue;
    }
    seen.add(id);
    picked.push({ ticket, receipt: r.receipt });
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
    for (const p of picked) acker.retime(queue, p.receipt, RETRY_SOON_SECONDS);
    return [];
  }

  const now = ports.clock.now();
  const writes: ChunkWrite[] = [];
  const pending: Array<{
    at: number;
    receipt: string;
    ticket: Ticket;
    runnable?: RunnableTask[];
    cancelEpoch: number;
  }> = [];
  picked.forEach(({ ticket, receipt }, i) => {
    const chunk = chunks[i];
    if (!chunk) {
      acker.ack(queue, receipt); // a ticket for a chunk that was never stored
      return;
    }
    const session = sessions.get(`${ticket.tenant}/${ticket.sessionId}`);
    const sessionState = session?.state ?? SessionState.CANCELLED;
    const plan = planClaim(chunk, { now, owner, sessionState, timing: ports.timing });
    switch (plan.kind) {
      case "settled":
      case "busy":
        acker.ack(queue, receipt);
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
        pending.push({
          at: writes.length,
          receipt,
          ticket,
          runnable: plan.kind === "claim" ? plan.runnable : undefined,
          cancelEpoch: session?.cancelEpoch ?? 0,
        });
        writes.push(chunkWrite(chunk, plan.next, completion));
      }
    }
  });
  if (writes.length === 0) return [];

  let results: string[];
  try {
    results = await ports.store.writeChunks(writes);
  } catch {
    for (const p of pending) acker.retime(queue, p.receipt, RETRY_SOON_SECONDS);
    return [];
  }
  const won: WonClaim[] = [];
  for (const p of pending) {
    if (results[p.at] !== "ok") {
      acker.retime(queue, p.receipt, RETRY_SOON_SECONDS); // lost a race: look again soon
    } else if (p.runnable) {
      const chunk = writes[p.at]!.chunk;
      // The first heartbeat comes at leaseMs/3; a ticket whose receive visibility ends sooner
      // would reappear as a "duplicate" and be deleted, so long leases re-time it now.
      if (chunk.leaseMs > LONG_LEASE_MS)
        acker.retime(queue, p.receipt, leaseVisibilitySeconds(chunk.leaseMs));
      won.push({
        queue,
        receipt: p.receipt,
        ticket: p.ticket,
        chunk: writes[p.at]!.chunk,
        runnable: p.runnable,
        cancelEpoch: p.cancelEpoch,
      });
    } else {
      acker.ack(queue, p.receipt); // finalized: nothing left to run
    }
  }
  return won;
}
