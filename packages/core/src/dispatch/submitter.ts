import { byteLength, type PlannedChunk, planChunks } from "../engine/chunking.ts";
import { groupOf, queueNameOf, uploadBlobKey } from "../engine/keys.ts";
import { newChunkRecord } from "../engine/records.ts";
import { SessionNotOpenError, TooLargeError, ValidationError } from "../errors.ts";
import { Limits } from "../model/limits.ts";
import type { ChunkRecord, SessionKey } from "../model/records.ts";
import { parseInput, SubmitBatchInput } from "../model/schemas.ts";
import { isTerminalSlot, SessionState } from "../model/status.ts";
import { encodeTicket } from "../model/ticket.ts";
import type { OutgoingTicket } from "../ports/ticket-queue.ts";
import { getOrCreate, mapLimit } from "../util.ts";
import type { GridPorts } from "./grid-ports.ts";
import { getSession } from "./sessions.ts";

/** What a submit did. Task indexes are listed as spans to keep large batches cheap to report. */
export interface SubmitReport {
  /** Tasks this call created. */
  created: number;
  /** Tasks that already existed (an earlier try of the same batch): nothing was duplicated. */
  existing: number;
  /** Spans [start, start+count) of created tasks. */
  createdSpans: Array<{ start: number; count: number }>;
  /** Chunks (lease units) the batch was stored as. */
  chunks: number;
  /** Tickets sent (created chunks plus existing ones not yet claimed). */
  tickets: number;
  /** The session's pool (its queues got the tickets). */
  pool: string;
}

/** Upload concurrency of payload blobs. */
const BLOB_CONCURRENCY = 16;

/** Ticket for a chunk; its payloads ride along when they are small. */
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
 * Classifies planned chunks against what is stored: an identical chunk already stored is an
 * earlier try of this batch; an overlapping but different one means the same task indexes were
 * submitted in another batch, which is rejected before anything is written.
 */
async function findExisting(
  ports: GridPorts,
  key: SessionKey,
  planned: PlannedChunk[],
): Promise<Set<number>> {
  const existing = new Set<number>();
  const byGroup = new Map<number, PlannedChunk[]>();
  for (const p of planned) {
    const g = groupOf(p.start);
    getOrCreate(byGroup, g, () => []).push(p);
  }
  for (const [group, chunks] of byGroup) {
    const from = chunks[0]!.start;
    const last = chunks.at(-1)!;
    const spans = await ports.store.listChunkSpans(key, group, from, last.start + last.payloads.length);
    if (spans.length === 0) continue;
    const exact = new Map(spans.map((s) => [s.start, s.count]));
    for (const p of chunks) {
      const end = p.start + p.payloads.length;
      if (exact.get(p.start) === p.payloads.length) {
        existing.add(p.start);
        continue;
      }
      const clash = spans.find((s) => s.start < end && s.start + s.count > p.start);
      if (clash) {
        throw new ValidationError(
          "tasks",
          `tasks ${p.start}..${end - 1} overlap tasks ${clash.start}..${clash.start + clash.count - 1} submitted in another batch; a retry must resend the same batch`,
        );
      }
    }
  }
  return existing;
}

/**
 * Submits a batch of tasks to an open session. Idempotent: task ids are the caller's indexes,
 * chunking is deterministic, and chunk records are inserted only if absent, so retrying the
 * same batch after any error creates nothing twice; it re-sends the tickets of chunks not yet
 * claimed, so a ticket lost by the first try is not lost for good.
 *
 * Order matters for crash safety: the session's group count is raised first (readers and the
 * reaper then see every group that may hold chunks), payload blobs are written before the
 * records that point at them, and tickets are sent last.
 */
export async function submitTasks(ports: GridPorts, key: SessionKey, input: unknown): Promise<SubmitReport> {
  const batch = parseInput(SubmitBatchInput, input);
  validateSizes(batch);
  const session = await getSession(ports, key);
  if (session.state !== SessionState.OPEN) throw new SessionNotOpenError(key.sessionId, session.state);

  const sizes = await uploadSizes(ports, key, batch);
  const planned = planChunks(batch.tasks, {
    maxTasks: session.config.chunkMaxTasks,
    maxBytes: session.config.chunkMaxBytes,
  });
  for (const p of planned) if (p.ref !== undefined) p.bytes = sizes.get(p.ref) ?? 0;
  const existingStarts = await findExisting(ports, key, planned);
  const maxGroup = groupOf(planned.at(-1)!.start + planned.at(-1)!.payloads.length - 1);
  if (session.groups <= maxGroup) await ports.store.raiseSessionGroups(key, maxGroup + 1);

  const now = ports.clock.now();
  const fresh = planned.filter((p) => !existingStarts.has(p.start));
  const records = fresh.map((p) => newChunkRecord(session, p, batch.handler, now, ports.timing));
  await mapLimit(records, BLOB_CONCURRENCY, (r, i) =>
    r.payloadRef === undefined
      ? ports.blobs.put(r.payloadKey, JSON.stringify({ payloads: fresh[i]!.payloads }))
      : Promise.resolve(),
  );
  const inserted = records.length > 0 ? await ports.store.insertChunks(records) : [];

  const tickets: OutgoingTicket[] = [];
  const createdSpans: SubmitReport["createdSpans"] = [];
  let created = 0;
  const toCheck: PlannedChunk[] = planned.filter((p) => existingStarts.has(p.start));
  records.forEach((r, i) => {
    if (inserted[i] === "created") {
      created += r.count;
      createdSpans.push({ start: r.start, count: r.count });
      tickets.push(ticketFor(r, fresh[i]!.payloads));
    } else {
      toCheck.push(fresh[i]!);
    }
  });
  if (toCheck.length > 0) {
    const stored = await ports.store.getChunks(toCheck.map((p) => ({ ...key, start: p.start })));
    stored.forEach((chunk, i) => {
      const neverClaimed =
        chunk !== undefined && chunk.fence === 0 && ![...chunk.slots].every(isTerminalSlot);
      if (neverClaimed) tickets.push(ticketFor(chunk, toCheck[i]!.payloads));
    });
  }
  if (tickets.length > 0)
    await ports.queue.send(queueNameOf(session.config.pool, session.config.priority), tickets);
  const total = batch.tasks.length;
  return {
    created,
    existing: total - created,
    createdSpans,
    chunks: planned.length,
    tickets: tickets.length,
    pool: session.config.pool,
  };
}
