import { assertUniqueIndexes, byteLength } from "../engine/chunking.ts";
import { groupOf, queueNameOf, uploadBlobKey } from "../engine/keys.ts";
import {
  isGridError,
  SessionNotOpenError,
  TooLargeError,
  TransientError,
  ValidationError,
} from "../errors.ts";
import { Limits } from "../model/limits.ts";
import type { ChunkRecord, SessionKey } from "../model/records.ts";
import { parseInput, SubmitBatchInput } from "../model/schemas.ts";
import { SessionState } from "../model/status.ts";
import { encodeTicket } from "../model/ticket.ts";
import { MAX_INSERT_CHUNKS } from "../ports/task-store.ts";
import type { OutgoingTicket } from "../ports/ticket-queue.ts";
import { getOrCreate, mapLimit } from "../util.ts";
import type { GridPorts } from "./grid-ports.ts";
import { getSession } from "./sessions.ts";
import { type GroupPlan, type Placed, planGroup } from "./submit-plan.ts";

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

/**
 * Writes a group plan: payload blobs first (content-addressed, so a racing batch never
 * overwrites them), then the chunk records in inserts conditional on the lock version the plan
 * was read at; each landed chunk goes into `created` at once. Returns false when the group
 * moved under it (the caller re-plans).
 */
async function writeGroup(
  ports: GridPorts,
  key: SessionKey,
  plan: GroupPlan,
  created: GroupPlan["fresh"],
  signal: AbortSignal | undefined,
): Promise<boolean> {
  await mapLimit(plan.fresh, BLOB_CONCURRENCY, ({ record, payloads }) =>
    record.payloadRef === undefined
      ? ports.blobs.put(record.payloadKey, JSON.stringify({ payloads }))
      : Promise.resolve(),
  );
  let version = plan.version;
  for (let i = 0; i < plan.fresh.length; i += MAX_INSERT_CHUNKS) {
    // A request answered as timed out stops writing here (its caller retries the batch).
    signal?.throwIfAborted();
    const part = plan.fresh.slice(i, i + MAX_INSERT_CHUNKS);
    const result = await ports.store.insertChunks(
      key,
      plan.group,
      version,
      part.map((f) => f.record),
    );
    if (result === "not-open")
      throw new SessionNotOpenError(key.sessionId, (await getSession(ports, key)).state);
    if (result === "conflict") return false; // what landed before stays: the re-plan finds it
    created.push(...part);
    version = (version ?? 0) + 1;
  }
  return true;
}

/** Most key groups one batch may span: its work is bounded, whatever the spread of its indexes. */
export const MAX_BATCH_GROUPS = 256;
/** Key groups of a batch planned or written at once. */
const GROUP_CONCURRENCY = 8;

/**
 * How often, at most, a submit marks its session as receiving work (touchSession): the reaper
 * drops an OPEN session from its active index only when this is long past (IDLE_SESSION_MS).
 */
export const TOUCH_EVERY_MS = 60_000;

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
export async function submitTasks(
  ports: GridPorts,
  key: SessionKey,
  input: unknown,
  options: {
    signal?: AbortSignal | undefined;
    /**
     * Checks the batch's handler against what the session's pool runs, throwing a
     * ValidationError to refuse it. Called with the session just read, before anything is written.
     */
    checkHandler?: ((pool: string, handler: string | undefined) => void) | undefined;
  } = {},
): Promise<SubmitReport> {
  const batch = parseInput(SubmitBatchInput, input);
  validateSizes(batch);
  // Duplicate indexes are a bad request whatever is stored: check before reading anything.
  assertUniqueIndexes(batch.tasks);
  const byGroup = new Map<number, Placed[]>();
  batch.tasks.forEach((task, position) => {
    getOrCreate(byGroup, groupOf(task.index), () => []).push({ task, position });
  });
  if (byGroup.size > MAX_BATCH_GROUPS) {
    throw new ValidationError(
      "tasks",
      `a batch may span at most ${MAX_BATCH_GROUPS} key groups (runs of ${Limits.GROUP_SIZE} task indexes); this one spans ${byGroup.size}: send it as several batches`,
    );
  }
  const groups = [...byGroup.keys()].sort((a, b) => a - b);
  for (const list of byGroup.values()) list.sort((a, b) => a.task.index - b.task.index);
  const session = await getSession(ports, key);
  options.checkHandler?.(session.config.pool, batch.handler);
  if (session.state !== SessionState.OPEN) throw new SessionNotOpenError(key.sessionId, session.state);
  const sizes = await uploadSizes(ports, key, batch);

  // Every group is checked before anything is written: a conflicting batch changes nothing, and
  // the error names the first conflicting task in index order.
  const planned = await mapLimit(groups, GROUP_CONCURRENCY, (g) =>
    planGroup(ports, session, g, byGroup.get(g)!, batch, sizes).then(
      (plan) => ({ plan }),
      (error: unknown) => ({ error }),
    ),
  );
  const refused = planned.find((p) => "error" in p);
  if (refused && "error" in refused) throw refused.error;
  const plans = planned.map((p) => (p as { plan: GroupPlan }).plan);
  // The session is marked as receiving work (and put back in the reaper's active index if it
  // had gone idle) before any insert, and again if this call runs long.
  let touchedAt = session.lastSubmitAt ?? session.createdAt;
  const touch = async () => {
    const now = ports.clock.now();
    if (now - touchedAt < TOUCH_EVERY_MS) return;
    await ports.store.touchSession(key, now);
    touchedAt = now;
  };
  if (plans.some((p) => p.fresh.length > 0)) await touch();

  const report: SubmitReport = {
    created: 0,
    existing: 0,
    createdSpans: [],
    chunks: 0,
    tickets: 0,
    pool: session.config.pool,
  };
  const tickets: OutgoingTicket[] = [];
  const writeOne = async (first: GroupPlan): Promise<void> => {
    let plan = first;
    const created: GroupPlan["fresh"] = [];
    try {
      for (let attempt = 0; ; attempt++) {
        if (plan.fresh.length > 0) await touch();
        if (await writeGroup(ports, key, plan, created, options.signal)) break;
        if (attempt + 1 >= GROUP_ATTEMPTS)
          throw new TransientError(
            `key group ${plan.group} kept changing under this submit; retry the batch`,
          );
        // This call's own earlier inserts are found stored: they are still created by this call.
        const own = new Set(created.map((c) => c.record.start));
        plan = await planGroup(ports, session, plan.group, byGroup.get(plan.group)!, batch, sizes, own);
      }
    } finally {
      // Whatever happens next, what this call stored gets its tickets.
      for (const { record, payloads } of created) {
        report.created += record.count;
        report.createdSpans.push({ start: record.start, count: record.count });
        tickets.push(ticketFor(record, payloads));
      }
    }
    for (const u of plan.unclaimed) tickets.push(ticketFor(u.record, u.payloads));
    report.existing += plan.existing;
    report.chunks += created.length + plan.storedChunks;
  };
  const queue = queueNameOf(session.config.pool, session.config.priority);
  try {
    await mapLimit(plans, GROUP_CONCURRENCY, writeOne);
  } catch (error) {
    // A batch refused half-way (a concurrent batch took some of its indexes, a close landed,
    // the request ran out of time) keeps the groups it stored, with their tickets, and the
    // caller learns how many there are. A lost ticket here is re-sent by the reaper.
    if (tickets.length > 0) await ports.queue.send(queue, tickets).catch(() => {});
    if (report.created > 0 && isGridError(error) && error instanceof Error)
      error.message += ` (${report.created} tasks of this batch were stored before this was found; the same batch sent again reports them as existing)`;
    throw error;
  }
  report.createdSpans.sort((a, b) => a.start - b.start);
  report.tickets = tickets.length;
  if (tickets.length > 0) await ports.queue.send(queue, tickets);
  return report;
}
