import { leaseVisibilitySeconds, needsHeartbeat } from "../engine/lease.ts";
import { planHeartbeat } from "../engine/transitions.ts";
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
