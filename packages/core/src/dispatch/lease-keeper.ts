import { leaseVisibilitySeconds, needsHeartbeat } from "../engine/lease.ts";
import { planHeartbeat } from "../engine/transitions.ts";
import { SessionState, SlotCode } from "../model/status.ts";
import { type ChunkWrite, chunkWrite } from "../ports/task-store.ts";
import type { GridPorts } from "./grid-ports.ts";
import { AbortReason, type HeldLease, loseLease } from "./held-lease.ts";
import type { TicketAcker } from "./ticket-acker.ts";

/** What the lease keeper needs from its worker. */
export interface LeaseKeeperContext {
  ports: GridPorts;
  owner: string;
  acker: TicketAcker;
  leases: () => Iterable<HeldLease>;
  onLost?: ((lease: HeldLease) => void) | undefined;
}

/**
 * One heartbeat pass: extends, in one batch, the leases held for more than a third of their
 * length, and re-times their tickets in batches of ten. Leases younger than that are not
 * touched, so short tasks never cost a heartbeat. A lease found taken over is given up (its
 * runs are aborted); tasks whose cancellation was requested are aborted.
 */
export async function heartbeat(ctx: LeaseKeeperContext): Promise<number> {
  const { ports } = ctx;
  const now = ports.clock.now();
  let due = [...ctx.leases()].filter((l) => !l.lost && !l.committing && needsHeartbeat(l.chunk, now));
  let extended = 0;
  for (let round = 0; round < 2 && due.length > 0; round++) {
    const writes: Array<{ lease: HeldLease; write: ChunkWrite; abort: number[] }> = [];
    for (const lease of due) {
      const plan = planHeartbeat(lease.chunk, {
        now,
        owner: ctx.owner,
        fence: lease.fence,
        timing: ports.timing,
      });
      if (plan.kind === "lost") {
        loseLease(lease);
        ctx.onLost?.(lease);
        continue;
      }
      writes.push({
        lease,
        write: chunkWrite(lease.chunk, plan.next),
        abort: plan.abort,
      });
    }
    let results: string[];
    try {
      results = await ports.store.writeChunks(writes.map((w) => w.write));
    } catch {
      return extended; // transient: the next pass tries again well before the lease ends
    }
    const conflicted: HeldLease[] = [];
    writes.forEach(({ lease, write, abort }, i) => {
      if (lease.lost) return;
      if (results[i] !== "ok") {
        conflicted.push(lease);
        return;
      }
      extended++;
      lease.chunk = write.chunk;
      for (const slot of abort) {
        const run = lease.runs.get(slot);
        if (run && !run.result) {
          run.cancelRequested = true;
          run.controller.abort(AbortReason.CANCELLED);
        }
      }
      ctx.acker.retime(lease.queue, lease.receipt, leaseVisibilitySeconds(lease.chunk.leaseMs));
    });
    if (conflicted.length === 0) break;
    // Someone else wrote the record (a cancel request, a takeover): re-read and decide again.
    let fresh: Awaited<ReturnType<typeof ports.store.getChunks>>;
    try {
      fresh = await ports.store.getChunks(conflicted.map((l) => l.chunk));
    } catch {
      return extended;
    }
    due = [];
    conflicted.forEach((lease, i) => {
      const record = fresh[i];
      if (!record) {
        loseLease(lease);
        ctx.onLost?.(lease);
        return;
      }
      lease.chunk = record;
      due.push(lease);
    });
  }
  return extended;
}

/** Leases held at least this long are watched for cancels; shorter runs cost no read at all. */
export const CANCEL_WATCH_AGE_MS = 250;

/** Aborts a lease's unfinished runs as cancelled (they commit as CANCELLED). */
function cancelRuns(lease: HeldLease, slots?: readonly number[]): number {
  let aborted = 0;
  for (const run of lease.runs.values()) {
    if (run.result || run.cancelRequested || (slots && !slots.includes(run.slot))) continue;
    run.cancelRequested = true;
    run.controller.abort(AbortReason.CANCELLED);
    aborted++;
  }
  return aborted;
}

/**
 * One cancel watch pass (every heartbeat, about once a second): a cancel reaches running tasks
 * within a second or two, whatever the lease's length. For the leases held longer than
 * CANCEL_WATCH_AGE_MS it reads each distinct session once: a CANCELLED session aborts all their
 * runs; a session whose cancel epoch moved (single tasks were cancelled) has those leases'
 * chunks re-read, and their slots marked for cancellation are aborted (a chunk found taken over
 * is given up). A session nobody cancels costs one read per second per worker holding its long
 * leases, and nothing for short tasks. Returns how many runs it aborted.
 */
export async function watchCancels(ctx: LeaseKeeperContext): Promise<number> {
  const { ports } = ctx;
  const now = ports.clock.now();
  const bySession = new Map<string, HeldLease[]>();
  for (const lease of ctx.leases()) {
    if (lease.lost || now - lease.claimedAt < CANCEL_WATCH_AGE_MS) continue;
    if (![...lease.runs.values()].some((r) => !r.result && !r.cancelRequested)) continue;
    const id = `${lease.chunk.tenant}/${lease.chunk.sessionId}`;
    bySession.set(id, [...(bySession.get(id) ?? []), lease]);
  }
  let aborted = 0;
  for (const leases of bySession.values()) {
    try {
      const session = await ports.store.getSession(leases[0]!.chunk);
      if (!session || session.state === SessionState.CANCELLED) {
        for (const lease of leases) aborted += cancelRuns(lease);
        continue;
      }
      const moved = leases.filter((l) => l.cancelEpoch !== session.cancelEpoch && !l.committing);
      if (moved.length === 0) continue;
      const versions = moved.map((l) => l.chunk.version);
      const fresh = await ports.store.getChunks(moved.map((l) => l.chunk));
      moved.forEach((lease, i) => {
        const record = fresh[i];
        // A commit (early or final) that landed meanwhile knows better than this read.
        if (lease.lost || lease.committing || lease.chunk.version !== versions[i]) return;
        if (!record || record.version < lease.chunk.version) return;
        if (record.fence !== lease.fence || record.owner !== ctx.owner) {
          loseLease(lease);
          ctx.onLost?.(lease);
          return;
        }
        lease.chunk = record;
        lease.cancelEpoch = session.cancelEpoch;
        const marked: number[] = [];
        for (let slot = 0; slot < record.slots.length; slot++)
          if (record.slots[slot] === SlotCode.CANCEL_REQUESTED) marked.push(slot);
        aborted += cancelRuns(lease, marked);
      });
    } catch {
      // transient: the next pass looks again
    }
  }
  return aborted;
}
