/**
 * Planning a submit's part in one key group: what the group holds already (the same work, or
 * other work: a conflict), and the new chunks for the rest, as read at the group lock's version.
 */
import { type PlannedChunk, planChunks } from "../engine/chunking.ts";
import { newChunkRecord } from "../engine/records.ts";
import { SessionNotOpenError, TaskConflictError } from "../errors.ts";
import type { ChunkRecord, SessionRecord } from "../model/records.ts";
import { isTerminalSlot } from "../model/status.ts";
import type { TaskInput } from "../model/task.ts";
import { workDigest } from "./digest.ts";
import type { GridPorts } from "./grid-ports.ts";
import { getSession } from "./sessions.ts";

/** A task of the batch with its position in the request (errors name the caller's own field). */
export interface Placed {
  task: TaskInput;
  position: number;
}

/** What a group's part of the batch comes to, as read under the group's lock version. */
export interface GroupPlan {
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
  // The digest covers a whole chunk of the same kind: payloads, or one uploaded payload.
  const uploaded = chunk.payloadRef !== undefined;
  const sameKind = mine.every((p) => (p.task.payloadRef !== undefined) === uploaded);
  if (sameKind && mine.length === chunk.count) {
    const payloads = mine.map((p) => p.task.payload ?? null);
    const ref = uploaded ? mine[0]!.task.payloadRef : undefined;
    if (workDigest(handler, uploaded ? [null] : payloads, ref) === chunk.digest)
      return uploaded ? undefined : payloads;
  }
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
export async function planGroup(
  ports: GridPorts,
  session: SessionRecord,
  group: number,
  placed: readonly Placed[],
  batch: { handler?: string | undefined; timeoutMs?: number | undefined },
  sizes: ReadonlyMap<string, number>,
  own: ReadonlySet<number> = new Set(),
): Promise<GroupPlan> {
  const handler = batch.handler;
  const timeoutMs = batch.timeoutMs ?? session.config.taskTimeoutMs;
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
      record: newChunkRecord(session, p, handler, now, ports.timing, digest, timeoutMs),
      payloads: p.payloads,
    });
  }
  return plan;
}
