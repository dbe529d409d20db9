import { byteLength, type PlannedChunk, planChunks } from "../engine/chunking.ts";
import { groupOf, queueNameOf, uploadBlobKey } from "../engine/keys.ts";
import { newChunkRecord } from "../engine/records.ts";
import {
  SessionNotOpenError,
  TaskConflictError,
  TooLargeError,
  TransientError,
  ValidationError,
} from "../errors.ts";
import { Limits } from "../model/limits.ts";
import type { ChunkRecord, SessionKey, SessionRecord } from "../model/records.ts";
import { parseInput, SubmitBatchInput } from "../model/schemas.ts";
import { isTerminalSlot, SessionState } from "../model/status.ts";
import type { TaskInput } from "../model/task.ts";
import { encodeTicket } from "../model/ticket.ts";
import { MAX_INSERT_CHUNKS } from "../ports/task-store.ts";
import type { OutgoingTicket } from "../ports/ticket-queue.ts";
import { getOrCreate, mapLimit } from "../util.ts";
import { workDigest } from "./digest.ts";
import type { GridPorts } from "./grid-ports.ts";
import { getSession } from "./sessions.ts";

/** What a submit did. Task indexes are listed as spans to keep large batches cheap to report. */
export interface SubmitReport {
  /** Tasks this call created. */
  created: number;
  /** Tasks that already existed with the same work (an earlier try of the same batch). */
  existing: number;
  /** Spans [start, start+count) of created tasks. */
  createdSpans: Array<{ start: number; count: number }>;
  /** Chunks (lease units) the batch's tasks are stored in. */
  chunks: number;
  /** Tickets sent (created chunks plus existing ones not yet claimed). */
  tickets: number;
  /** The session's pool (its queues got the tickets). */
  pool: string;
}

/** Upload concurrency of payload blobs. */
const BLOB_CONCURRENCY = 16;
/** Re-reads of a group whose lock moved under a submit (another submit or a seal) before giving up. */
const GROUP_ATTEMPTS = 20;

/**
 * Ticket for a chunk. Its payloads ride along when they are small and are the chunk's own: the
 * ticket names the chunk's digest, and a worker uses inline payloads only when it matches.
 */
export function ticketFor(chunk: ChunkRecord, payloads?: (string | null)[]): OutgoingTicket {
  const inline =
    payloads !== undefined &&
    chunk.payloadRef === undefined &&
    chunk.payloadBytes <= Limits.TICKET_INLINE_BYTES
      ? payloads
      : undefined;
  return {
    body: encodeTicket({
      tenant: chunk.tenant,
      sessionId: chunk.sessionId,
      start: chunk.start,
      count: chunk.count,
      digest: chunk.digest,
      payloads: inline,
    }),
  };
}

/** A task of the batch with its position in the request (errors name the caller's own field). */
interface Placed {
  task: TaskInput;
  position: number;
}

function validateSizes(input: SubmitBatchInput): void {
  input.tasks.forEach((task, i) => {
    if (task.payload !== undefined) {
      const size = byteLength(task.payload);
      if (size > Limits.MAX_TASK_BYTES)
        throw new TooLargeError(`tasks[${i}].payload`, Limits.MAX_TASK_BYTES, size);
    }
  });
}

/**
 * Sizes of the uploads that tasks refer to; an upload that does not exist (in this tenant's
 * session: the key is built from the caller's own ids) or is too large is a bad field.
 */
async function uploadSizes(
  ports: GridPorts,
  key: SessionKey,
  input: SubmitBatchInput,
): Promise<Map<string, number>> {
  const refs = input.tasks.flatMap((t, i) => (t.payloadRef === undefined ? [] : [{ ref: t.payloadRef, i }]));
  const sizes = await mapLimit(refs, BLOB_CONCURRENCY, ({ ref }) =>
    ports.blobs.sizeOf(uploadBlobKey(key, ref)),
  );
  const found = new Map<string, number>();
  refs.forEach(({ ref, i }, n) => {
    const size = sizes[n];
    if (size === undefined) {
      throw new ValidationError(
        `tasks[${i}].payloadRef`,
        "no upload with this id in the session (PUT the payload to the upload link first)",
      );
    }
    if (size > Limits.MAX_TASK_BYTES)
      throw new TooLargeError(`tasks[${i}].payloadRef`, Limits.MAX_TASK_BYTES, size);
    found.set(ref, size);
  });
  return found;
}

/** What a group's part of the batch comes to, as read under the group's lock version. */
interface GroupPlan {
  group: number;
  /** Lock version read (undefined: the group does not exist yet). */
  version: number | undefined;
  /** New chunk records, with their payloads. */
  fresh: Array<{ record: ChunkRecord; payloads: (string | null)[] }>;
  /** Tasks already stored with the same work. */
  existing: number;
  /** Stored chunks holding tasks of the batch, never claimed yet (their tickets are re-sent). */
  unclaimed: Array<{ record: ChunkRecord; payloads?: (string | null)[] | undefined }>;
  /** Stored chunks holding tasks of the batch. */
  storedChunks: number;
}

/** The stored payloads of a chunk (its upload id for an uploaded one), or undefined if lost. */
async function storedWork(ports: GridPorts, chunk: ChunkRecord): Promise<(string | null)[] | undefined> {
  if (chunk.payloadRef !== undefined) return [null];
  const blob = await ports.blobs.get(chunk.payloadKey);
  const parsed = blob === undefined ? undefined : (JSON.parse(blob) as { payloads?: unknown }).payloads;
  return Array.isArray(parsed) && parsed.length === chunk.count ? (parsed as (string | null)[]) : undefined;
}

/**
 * Checks that the batch's tasks held by stored chunk `chunk` are the same work; throws a
 * TaskConflictError naming the first one that is not. A batch that holds the whole chunk is
 * compared by digest; otherwise, or when the digests differ, task by task against the stored
 * payloads, so the error names the exact index.
 */
async function verifySameWork(
  ports: GridPorts,
  chunk: ChunkRecord,
  mine: readonly Placed[],
  handler: string | undefined,
): Promise<(string | null)[] | undefined> {
  const whole = mine.length === chunk.count;
  const payloads = mine.map((p) => p.task.payload ?? null);
  const ref = chunk.count === 1 ? mine[0]?.task.payloadRef : undefined;
  if (whole && workDigest(handler, ref === undefined ? payloads : [null], ref) === chunk.digest)
    return ref === undefined ? payloads : undefined;
  const stored = chunk.handler === handler ? await storedWork(ports, chunk) : undefined;
  for (const p of mine) {
    const field = `tasks[${p.position}]`;
    const i = p.task.index;
    const differs = (why: string) =>
      new TaskConflictError(
        field,
        i,
        `task ${i} was already submitted with ${why}; a resubmit must send the same work (same handler and payload per index)`,
      );
    if (chunk.handler !== handler)
      throw differs(`handler ${chunk.handler === undefined ? "(none)" : `"${chunk.handler}"`}`);
    if (stored === undefined) throw differs("a payload that can no longer be read to compare");
    const same =
      chunk.payloadRef !== undefined
        ? p.task.payloadRef === chunk.payloadRef
        : p.task.payloadRef === undefined && (p.task.payload ?? null) === stored[i - chunk.start];
    if (!same) throw differs("another payload");
  }
  return undefined;
}

/**
 * Plans a group's part of the batch against what the group holds: tasks already stored must be
 * the same work (or the batch is refused), the rest become new chunks. Reads the lock version
 * first, so an insert conditional on it lands only if nothing changed since these reads.
 */
async function planGroup(
  ports: GridPorts,
  session: SessionRecord,
  group: number,
  placed: readonly Placed[],
  handler: string | undefined,
  sizes: ReadonlyMap<string, number>,
  own: ReadonlySet<number> = new Set(),
): Promise<GroupPlan> {
  const key = { tenant: session.tenant, sessionId: session.sessionId };
  const lock = await ports.store.getGroup(key, group);
  if (lock?.sealed) throw new SessionNotOpenError(key.sessionId, (await getSession(ports, key)).state);
  const from = placed[0]!.task.index;
  const to = placed.at(-1)!.task.index + 1;
  const stored = lock ? await ports.store.listChunksIn(key, group, from, to) : [];
  const plan: GroupPlan = {
    group,
    version: lock?.version,
    fresh: [],
    existing: 0,
    unclaimed: [],
    storedChunks: 0,
  };
  const uncovered: Placed[] = [];
  let at = 0;
  for (const chunk of stored) {
    while (at < placed.length && placed[at]!.task.index < chunk.start) uncovered.push(placed[at++]!);
    const mine: Placed[] = [];
    while (at < placed.length && placed[at]!.task.index < chunk.start + chunk.count) mine.push(placed[at++]!);
    if (mine.length === 0 || own.has(chunk.start)) continue; // this call's own insert, on a re-plan
    plan.storedChunks++;
    const payloads = await verifySameWork(ports, chunk, mine, handler);
    plan.existing += mine.length;
    if (chunk.fence === 0 && ![...chunk.slots].every(isTerminalSlot))
      plan.unclaimed.push({ record: chunk, payloads });
  }
  while (at < placed.length) uncovered.push(placed[at++]!);

  const now = ports.clock.now();
  const planned: PlannedChunk[] = planChunks(
    uncovered.map((p) => p.task),
    { maxTasks: session.config.chunkMaxTasks, maxBytes: session.config.chunkMaxBytes },
  );
  for (const p of planned) {
    if (p.ref !== undefined) p.bytes = sizes.get(p.ref) ?? 0;
    const digest = workDigest(handler, p.payloads, p.ref);
    plan.fresh.push({
      record: newChunkRecord(session, p, handler, now, ports.timing, digest),
      payloads: p.payloads,
    });
  }
  return plan;
}

/**
 * Writes a group plan: payload blobs first (content-addressed, so a racing batch never
 * overwrites them), then the chunk records in inserts conditional on the lock version the plan
 * was read at. Returns false when the group moved under it (the caller re-plans).
 */
async function writeGroup(ports: GridPorts, key: SessionKey, plan: GroupPlan): Promise<boolean> {
  await mapLimit(plan.fresh, BLOB_CONCURRENCY, ({ record, payloads }) =>
    record.payloadRef === undefined
      ? ports.blobs.put(record.payloadKey, JSON.stringify({ payloads }))
      : Promise.resolve(),
  );
  let version = plan.version;
  for (let i = 0; i < plan.fresh.length; i += MAX_INSERT_CHUNKS) {
    const part = plan.fresh.slice(i, i + MAX_INSERT_CHUNKS);
    const result = await ports.store.insertChunks(
      key,
      plan.group,
      version,
      part.map((f) => f.record),
    );
    if (result === "not-open")
      throw new SessionNotOpenError(key.sessionId, (await getSession(ports, key)).state);
    if (result === "conflict") {
      // What landed before stays (it is this batch's own work): the re-plan finds it stored.
      plan.fresh = plan.fresh.slice(0, i);
      return false;
    }
    version = (version ?? 0) + 1;
  }
  return true;
}

/**
 * Submits a batch of tasks to an open session. Exactly as submitted, exactly once:
 *
 * - Idempotent: task ids are the caller's indexes. Tasks already stored with the same work
 *   (same handler, same payload or upload per index) are reported as existing; their chunks'
 *   tickets are re-sent while never claimed, so a ticket lost by an earlier try is not lost for
 *   good.
 * - Conflicting work is refused: an index already stored with other work is a 409 naming the
 *   first such task; nothing is merged, and nothing of a batch refused before writing is stored.
 * - Atomic per key group: every insert into a group is conditional on the version of the group
 *   that its overlap check read, so two batches racing for the same indexes can never both land;
 *   the loser re-reads and is either told its tasks exist (same work) or refused.
 *
 * Order matters for crash safety: payload blobs are written before the records that point at
 * them, and tickets are sent last.
 */
export async function submitTasks(ports: GridPorts, key: SessionKey, input: unknown): Promise<SubmitReport> {
  const batch = parseInput(SubmitBatchInput, input);
  validateSizes(batch);
  // Duplicate indexes are a bad request whatever is stored: check before reading anything.
  planChunks(batch.tasks, { maxTasks: Limits.MAX_BATCH_TASKS, maxBytes: Number.POSITIVE_INFINITY });
  const session = await getSession(ports, key);
  if (session.state !== SessionState.OPEN) throw new SessionNotOpenError(key.sessionId, session.state);
  const sizes = await uploadSizes(ports, key, batch);

  const byGroup = new Map<number, Placed[]>();
  batch.tasks.forEach((task, position) => {
    getOrCreate(byGroup, groupOf(task.index), () => []).push({ task, position });
  });
  const groups = [...byGroup.keys()].sort((a, b) => a - b);
  for (const list of byGroup.values()) list.sort((a, b) => a.task.index - b.task.index);

  // Every group is checked before anything is written: a conflicting batch changes nothing.
  const plans = new Map<number, GroupPlan>();
  for (const g of groups)
    plans.set(g, await planGroup(ports, session, g, byGroup.get(g)!, batch.handler, sizes));

  const report: SubmitReport = {
    created: 0,
    existing: 0,
    createdSpans: [],
    chunks: 0,
    tickets: 0,
    pool: session.config.pool,
  };
  const tickets: OutgoingTicket[] = [];
  for (const g of groups) {
    let plan = plans.get(g)!;
    const created: GroupPlan["fresh"] = [];
    for (let attempt = 0; ; attempt++) {
      const done = await writeGroup(ports, key, plan);
      created.push(...plan.fresh);
      if (done) break;
      if (attempt + 1 >= GROUP_ATTEMPTS)
        throw new TransientError(`key group ${g} kept changing under this submit; retry the batch`);
      // This call's own earlier inserts are found stored: they are still created by this call.
      const own = new Set(created.map((c) => c.record.start));
      plan = await planGroup(ports, session, g, byGroup.get(g)!, batch.handler, sizes, own);
    }
    for (const { record, payloads } of created) {
      report.created += record.count;
      report.createdSpans.push({ start: record.start, count: record.count });
      tickets.push(ticketFor(record, payloads));
    }
    for (const u of plan.unclaimed) tickets.push(ticketFor(u.record, u.payloads));
    report.existing += plan.existing;
    report.chunks += created.length + plan.storedChunks;
  }
  report.createdSpans.sort((a, b) => a.start - b.start);
  report.tickets = tickets.length;
  if (tickets.length > 0)
    await ports.queue.send(queueNameOf(session.config.pool, session.config.priority), tickets);
  return report;
}
