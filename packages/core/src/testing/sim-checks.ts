import type { MemoryTaskStore } from "../adapters/memory/memory-task-store.ts";
import { Limits } from "../model/limits.ts";
import type { SessionKey, TaskOutcome } from "../model/records.ts";
import { isTerminalSlot } from "../model/status.ts";

/** What a simulation recorded while it ran. */
export interface SimAudit {
  key: SessionKey;
  config: { maxAttempts: number };
  tasks: number;
  /** Task runs granted by a claim, with the step of the claim. */
  starts: Array<{ index: number; attempt: number; owner: string; fence: number; step: number }>;
  /** Lease grants: `${chunkStart}#${fence}` → owner and step. */
  claims: Map<string, { owner: string; step: number }>;
  /** Tasks someone asked to cancel (the call may have failed after landing). */
  cancelRequested: Set<number>;
  /** Step at which a cancel of the task completed. */
  cancelledAt: Map<number, number>;
  step: number;
}

/**
 * Checks a finished run: every task terminal; no task committed twice; each result is the one
 * produced by the attempt that owned the lease it was committed under; FAILED only after
 * maxAttempts; CANCELLED only when cancelled; nothing cancelled started after its cancel.
 */
export async function checkInvariants(store: MemoryTaskStore, audit: SimAudit): Promise<string[]> {
  const v: string[] = [];
  const outcomes = new Map<
    number,
    { outcome: TaskOutcome; owner?: string | undefined; fence: number; chunkStart: number }
  >();
  const groups = Math.ceil(audit.tasks / Limits.GROUP_SIZE);
  for (let g = 0; g < groups; g++) {
    let after: string | undefined;
    for (;;) {
      const page = await store.readCompletions(audit.key, g, after, 1000);
      for (const e of page.entries) {
        for (const o of e.outcomes) {
          if (outcomes.has(o.index)) v.push(`task ${o.index} committed twice`);
          outcomes.set(o.index, { outcome: o, owner: e.owner, fence: e.fence, chunkStart: e.chunkStart });
        }
      }
      if (!page.next) break;
      after = page.next;
    }
  }
  for (let i = 0; i < audit.tasks; i++) {
    const chunk = await store.findChunk(audit.key, i);
    if (!chunk) {
      v.push(`task ${i} was never stored`);
      continue;
    }
    const code = chunk.slots[i - chunk.start]!;
    const done = outcomes.get(i);
    if (!isTerminalSlot(code)) v.push(`task ${i} is not terminal (slot ${code})`);
    if (!done) {
      v.push(`task ${i} has no recorded outcome`);
      continue;
    }
    const o = done.outcome;
    if (o.status[0] !== code) v.push(`task ${i}: outcome ${o.status} but slot ${code}`);
    if (o.status === "SUCCEEDED") {
      const claim = audit.claims.get(`${done.chunkStart}#${done.fence}`);
      if (!claim || claim.owner !== done.owner)
        v.push(`task ${i}: committed under fence ${done.fence} not held by ${done.owner}`);
      if (o.result !== `${i}:${o.attempt}:${done.owner}`) {
        v.push(
          `task ${i}: stored result ${o.result} is not attempt ${o.attempt} of lease owner ${done.owner}`,
        );
      }
    }
    if (o.status === "FAILED" && o.attempt !== audit.config.maxAttempts) {
      v.push(
        `task ${i}: FAILED (${o.error?.code}) after ${o.attempt} of ${audit.config.maxAttempts} attempts`,
      );
    }
    if (o.status === "CANCELLED" && !audit.cancelRequested.has(i)) {
      v.push(`task ${i}: CANCELLED without a cancel`);
    }
  }
  for (const s of audit.starts) {
    const at = audit.cancelledAt.get(s.index);
    if (at !== undefined && s.step > at)
      v.push(`task ${s.index} started at step ${s.step} after its cancel at step ${at}`);
  }
  return v;
}
