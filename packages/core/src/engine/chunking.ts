import { ValidationError } from "../errors.ts";
import type { TaskInput } from "../model/task.ts";
import { groupOf } from "./keys.ts";

/** A chunk as planned from a submit batch, before it becomes a record. */
export interface PlannedChunk {
  start: number;
  payloads: (string | null)[];
  /** Total UTF-8 bytes of the payloads. */
  bytes: number;
  /** Upload id of a one-task chunk whose payload was uploaded directly. */
  ref?: string | undefined;
}

/** Bounds of a chunk. */
export interface ChunkBounds {
  maxTasks: number;
  maxBytes: number;
}

/** UTF-8 length of a string. */
export function byteLength(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

/** Throws a ValidationError naming the second of two tasks with the same index, if any. */
export function assertUniqueIndexes(tasks: readonly TaskInput[]): void {
  const order = tasks.map((_, i) => i).sort((a, b) => tasks[a]!.index - tasks[b]!.index);
  for (let i = 1; i < order.length; i++) {
    const task = tasks[order[i]!]!;
    if (tasks[order[i - 1]!]!.index === task.index)
      throw new ValidationError(
        `tasks[${order[i]}].index`,
        `duplicate task index ${task.index} in the batch`,
      );
  }
}

/**
 * Splits a batch into chunks of consecutive task indexes. A chunk ends at an index gap, at a
 * key-group boundary, at `maxTasks`, or before the task that would take it past `maxBytes`
 * (a task larger than `maxBytes` travels alone). Deterministic: the same batch always yields
 * the same chunks, which is what makes a retried submit idempotent.
 */
export function planChunks(tasks: readonly TaskInput[], bounds: ChunkBounds): PlannedChunk[] {
  // Sort positions, not tasks, so an error can name the caller's own position.
  const order = tasks.map((_, i) => i).sort((a, b) => tasks[a]!.index - tasks[b]!.index);
  const sorted = order.map((i) => tasks[i]!);
  const chunks: PlannedChunk[] = [];
  let current: PlannedChunk | undefined;
  for (let i = 0; i < sorted.length; i++) {
    const task = sorted[i]!;
    if (i > 0 && sorted[i - 1]!.index === task.index) {
      throw new ValidationError(
        `tasks[${order[i]}].index`,
        `duplicate task index ${task.index} in the batch`,
      );
    }
    if (task.payloadRef !== undefined) {
      // An uploaded payload is large by nature: its task travels alone, its blob untouched.
      chunks.push({ start: task.index, payloads: [null], bytes: 0, ref: task.payloadRef });
      current = undefined;
      continue;
    }
    const size = task.payload === undefined ? 0 : byteLength(task.payload);
    const contiguous =
      current !== undefined &&
      current.ref === undefined &&
      current.start + current.payloads.length === task.index &&
      groupOf(current.start) === groupOf(task.index);
    const fits =
      current !== undefined &&
      current.payloads.length < bounds.maxTasks &&
      current.bytes + size <= bounds.maxBytes;
    if (current === undefined || !contiguous || !fits) {
      current = { start: task.index, payloads: [], bytes: 0 };
      chunks.push(current);
    }
    current.payloads.push(task.payload ?? null);
    current.bytes += size;
  }
  return chunks;
}
