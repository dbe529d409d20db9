import { type FinishedRun, taskAttempts } from "../engine/attempts.ts";
import { viewTask } from "../engine/completions.ts";
import { groupOf } from "../engine/keys.ts";
import { NotFoundError } from "../errors.ts";
import { assertId, assertTaskIndex } from "../model/ids.ts";
import type { ChunkRecord, CompletionEntry, SessionKey, TaskOutcome } from "../model/records.ts";
import { isTerminalSlot } from "../model/status.ts";
import type { TaskDetail } from "../model/task.ts";
import { cancelInChunk } from "./cancel-walk.ts";
import type { GridPorts } from "./grid-ports.ts";
import { loadPayloads } from "./payloads.ts";
import { bumpCancelEpoch } from "./sessions.ts";

async function chunkOf(ports: GridPorts, key: SessionKey, index: number): Promise<ChunkRecord> {
  assertId("tenant", key.tenant);
  assertId("sessionId", key.sessionId);
  assertTaskIndex("taskId", index);
  const chunk = await ports.store.findChunk(key, index);
  if (!chunk) throw new NotFoundError("task", `task ${index} not found in session ${key.sessionId}`);
  return chunk;
}

/**
 * Loads the results of an entry whose results were spilled to a blob. When that blob is gone
 * (the bucket's retention, a local restart), each succeeded task keeps its status and carries
 * the error RESULT_UNAVAILABLE instead of a result: readers go on with the rest.
 */
export async function resolveResults(ports: GridPorts, entry: CompletionEntry): Promise<TaskOutcome[]> {
  if (!entry.resultsKey) return entry.outcomes;
  const blob = await ports.blobs.get(entry.resultsKey);
  if (blob === undefined) {
    return entry.outcomes.map((o) =>
      o.status === "SUCCEEDED" && o.resultRef === undefined
        ? {
            ...o,
            error: {
              code: "RESULT_UNAVAILABLE",
              message: `the task succeeded but its result can no longer be read (${entry.resultsKey} is gone)`,
            },
          }
        : o,
    );
  }
  const results = JSON.parse(blob) as (string | null)[];
  return entry.outcomes.map((o, i) => ({ ...o, result: results[i] ?? undefined }));
}

async function outcomeOf(
  ports: GridPorts,
  chunk: ChunkRecord,
  index: number,
): Promise<FinishedRun | undefined> {
  for (const sortKey of [...chunk.commits].reverse()) {
    const entry = await ports.store.getCompletion(chunk, groupOf(chunk.start), sortKey);
    const hit = entry?.outcomes.findIndex((o) => o.index === index) ?? -1;
    if (entry && hit >= 0) {
      const outcomes = await resolveResults(ports, entry);
      return { outcome: outcomes[hit]!, committedAt: entry.committedAt, owner: entry.owner };
    }
  }
  return undefined;
}

/**
 * Reads one task by id, with its result or error once it is terminal, and the runs its records
 * keep; with `payload`, its input too (see readPayload).
 */
export async function getTask(
  ports: GridPorts,
  key: SessionKey,
  index: number,
  options: { payload?: boolean } = {},
): Promise<TaskDetail & { payload?: TaskPayload | undefined }> {
  const chunk = await chunkOf(ports, key, index);
  const slot = index - chunk.start;
  const [done, payload, failedRuns] = await Promise.all([
    isTerminalSlot(chunk.slots[slot]!) ? outcomeOf(ports, chunk, index) : undefined,
    options.payload ? readPayload(ports, chunk, index) : undefined,
    // A task never charged a run has none.
    chunk.attempts[slot]! > 0
      ? ports.store.readFailedRuns(chunk, groupOf(chunk.start), chunk.start, MAX_FAILED_RUN_ENTRIES)
      : [],
  ]);
  const now = ports.clock.now();
  return {
    ...viewTask(chunk, index, now, done?.outcome, done?.committedAt),
    attempts: taskAttempts(chunk, index, now, done, failedRuns),
    payload,
  };
}

/**
 * Failed-run entries read for one task's view: the chunk's newest. Each retrying commit of the
 * chunk writes one, so a chunk of 64 tasks with 3 attempts each has at most 128; a larger chunk
 * with more attempts may have more, and its task views then miss the oldest runs.
 */
const MAX_FAILED_RUN_ENTRIES = 200;

/** Longest payload preview, in characters. */
export const PAYLOAD_PREVIEW_CHARS = 4_096;

/** A task's input as a reader sees it: a preview of an inline one, or where an uploaded one lies. */
export type TaskPayload =
  | { kind: "inline"; preview: string; truncated: boolean }
  | { kind: "uploaded"; blobKey: string }
  | { kind: "none" };

/**
 * A task's input: an inline payload from its chunk's payload blob (one read of up to the chunk's
 * payload bytes), cut to PAYLOAD_PREVIEW_CHARS; an uploaded one is not read (its blob key is
 * returned for a link). `none` when the task had no payload or its blob is gone.
 */
async function readPayload(ports: GridPorts, chunk: ChunkRecord, index: number): Promise<TaskPayload> {
  if (chunk.payloadRef !== undefined) return { kind: "uploaded", blobKey: chunk.payloadKey };
  const loaded = await loadPayloads(ports, chunk, undefined, 0);
  const payload = "payloads" in loaded ? loaded.payloads[index - chunk.start] : undefined;
  if (payload === undefined || payload === null) return { kind: "none" };
  return {
    kind: "inline",
    preview: payload.slice(0, PAYLOAD_PREVIEW_CHARS),
    truncated: payload.length > PAYLOAD_PREVIEW_CHARS,
  };
}

/**
 * Cancels one task: a queued task becomes CANCELLED and never starts; a running one is aborted
 * by its worker at the next heartbeat; a finished one keeps its result.
 */
export async function cancelTask(ports: GridPorts, key: SessionKey, index: number): Promise<TaskDetail> {
  const chunk = await chunkOf(ports, key, index);
  const { requested } = await cancelInChunk(ports, chunk, [index - chunk.start]);
  // A running task (marked now, or by an earlier try of this cancel whose bump failed): its
  // worker learns of it within a second or two (its cancel watch).
  if (requested > 0) await bumpCancelEpoch(ports, key);
  return getTask(ports, key, index);
}
