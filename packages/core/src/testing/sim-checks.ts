import type { MemoryBlobStore } from "../adapters/memory/memory-blob-store.ts";
import type { MemoryTaskStore } from "../adapters/memory/memory-task-store.ts";
import { counterDelta, zeroCounters } from "../engine/progress.ts";
import type { ChunkRecord, SessionKey, TaskOutcome } from "../model/records.ts";
import { isTerminalSlot } from "../model/status.ts";

/** What a simulation recorded while it ran. */
export interface SimAudit {
  key: SessionKey;
  config: { maxAttempts: number };
  /** Every task index submitted. */
  indexes: number[];
  /** The payload of the batch accepted for each index (what the task must run on). */
  accepted: Map<number, string>;
  /** Outcomes delivered by the results stream, in order. */
  delivered: TaskOutcome[];
  /** Violations seen while running (e.g. one index accepted with two payloads). */
  violations: string[];
  /** Task runs granted by a claim, with the step of the claim. */
  starts: Array<{ index: number; attempt: number; owner: string; fence: number; step: number }>;
  /** Lease grants: `${chunkStart}#${fence}` → owner and step. */
  claims: Map<string, { owner: string; step: number }>;
  /** Tasks someone asked to cancel (the call may have failed after landing). */
  cancelRequested: Set<number>;
  /** Step at which a cancel of the task completed. */
  cancelledAt: Map<number, number>;
  /** Attempt numbers each task's code was really called with (onTaskStart). */
  runStarts: Map<number, Set<number>>;
  /**
   * `${index}#${attempt}` charged by a careful claim whose worker died before it learned that the
   * claim had landed (its answer lost, its read-back failed): the runs never started.
   */
  unknownCharges: Set<string>;
  step: number;
}

/** Every chunk of the session, from its group directory. */
async function allChunks(store: MemoryTaskStore, key: SessionKey): Promise<ChunkRecord[]> {
  const chunks: ChunkRecord[] = [];
  for (const g of (await store.listGroups(key, undefined, 100_000)).groups)
    chunks.push(...(await store.listChunks(key, g)));
  return chunks;
}

/**
 * Checks what is stored: each submitted index is held by exactly one chunk, whose stored
 * payload is the one of the batch accepted for it, and nothing else is stored; the session's
 * counters equal a recount of its chunks' slots.
 */
async function checkStored(
  store: MemoryTaskStore,
  blobs: MemoryBlobStore,
  audit: SimAudit,
  v: string[],
): Promise<Map<number, string | null>> {
  const submitted = new Set(audit.indexes);
  const payloads = new Map<number, string | null>();
  const recount = zeroCounters();
  for (const chunk of await allChunks(store, audit.key)) {
    recount.tasks += chunk.count;
    for (const [k, n] of Object.entries(counterDelta("Q".repeat(chunk.count), chunk.slots)))
      recount[k as keyof typeof recount] += n;
    const blob = await blobs.get(chunk.payloadKey);
    const list =
      blob === undefined ? undefined : (JSON.parse(blob) as { payloads: (string | null)[] }).payloads;
    if (!list || list.length !== chunk.count)
      v.push(`chunk ${chunk.start}: payload blob missing or malformed`);
    for (let i = 0; i < chunk.count; i++) {
      const index = chunk.start + i;
      if (payloads.has(index)) v.push(`task ${index} is stored in two chunks`);
      if (!submitted.has(index)) v.push(`task ${index} is stored but was never submitted`);
      payloads.set(index, list?.[i] ?? null);
    }
  }
  for (const index of audit.indexes) {
    const stored = payloads.get(index);
    const accepted = audit.accepted.get(index);
    if (accepted === undefined) v.push(`task ${index} was never accepted`);
    else if (stored !== accepted) v.push(`task ${index} stores ${stored} but ${accepted} was accepted`);
  }
  const counters = await store.getCounters(audit.key);
  if (JSON.stringify(counters) !== JSON.stringify(recount))
    v.push(`counters ${JSON.stringify(counters)} differ from the chunks' ${JSON.stringify(recount)}`);
  return payloads;
}

/**
 * Checks a finished run: every task terminal; no task committed twice; each result is the one
 * produced by the attempt that owned the lease it was committed under, run on the stored
 * payload; FAILED only after maxAttempts; every attempt charged was a run that started;
 * CANCELLED only when cancelled; nothing cancelled
 * started after its cancel; the stored work is exactly the accepted work; the results stream
 * delivered each task exactly once, as stored.
 */
export async function checkInvariants(
  store: MemoryTaskStore,
  blobs: MemoryBlobStore,
  audit: SimAudit,
): Promise<string[]> {
  const v: string[] = [...audit.violations];
  const payloads = await checkStored(store, blobs, audit, v);
  const outcomes = new Map<
    number,
    { outcome: TaskOutcome; owner?: string | undefined; fence: number; chunkStart: number }
  >();
  for (const g of (await store.listGroups(audit.key, undefined, 100_000)).groups) {
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
  for (const i of audit.indexes) {
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
      const expected = `${i}:${o.attempt}:${done.owner}:${payloads.get(i)}`;
      if (o.result !== expected)
        v.push(
          `task ${i}: stored result ${o.result} is not attempt ${o.attempt} of ${done.owner} on its payload`,
        );
    }
    if (o.status === "FAILED" && o.attempt !== audit.config.maxAttempts) {
      v.push(
        `task ${i}: FAILED (${o.error?.code}) after ${o.attempt} of ${audit.config.maxAttempts} attempts`,
      );
    }
    // No infrastructure event (a dead worker, a lost answer, throttling, a dead-lettered ticket)
    // charges a task an attempt: every attempt counted was a run of the task's code.
    for (let a = 1; a <= o.attempt; a++) {
      if (!audit.runStarts.get(i)?.has(a) && !audit.unknownCharges.has(`${i}#${a}`)) {
        v.push(`task ${i}: ${o.status} at attempt ${o.attempt}, but attempt ${a} never started`);
        break;
      }
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
  checkDelivered(audit, outcomes, v);
  return v;
}

/** The results stream delivered each task exactly once, equal to its stored outcome. */
function checkDelivered(
  audit: SimAudit,
  outcomes: ReadonlyMap<number, { outcome: TaskOutcome }>,
  v: string[],
): void {
  const seen = new Set<number>();
  for (const o of audit.delivered) {
    if (seen.has(o.index)) v.push(`task ${o.index} delivered twice`);
    seen.add(o.index);
    const stored = outcomes.get(o.index)?.outcome;
    if (!stored || stored.status !== o.status || stored.attempt !== o.attempt || stored.result !== o.result)
      v.push(`task ${o.index}: delivered ${o.status}/${o.attempt} differs from the stored outcome`);
  }
  for (const i of audit.indexes) if (!seen.has(i) && outcomes.has(i)) v.push(`task ${i} never delivered`);
}
