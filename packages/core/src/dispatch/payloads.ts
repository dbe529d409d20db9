import { Limits } from "../model/limits.ts";
import type { ChunkRecord } from "../model/records.ts";
import type { Ticket } from "../model/ticket.ts";
import type { GridPorts } from "./grid-ports.ts";

/**
 * A chunk's payloads as loaded for its runs: the list, `missing` (the blob is absent, corrupt
 * or too large: the tasks cannot run, which counts against them), or `unreadable` (the store
 * kept failing: no fault of the tasks, which are given back and tried later).
 */
export type LoadedPayloads = { payloads: (string | null)[] } | { missing: true } | { unreadable: true };

/** How long tasks whose payloads could not be read wait before they are tried again. */
export const UNREADABLE_RETRY_MS = 5_000;

/**
 * Loads the payloads of `chunk`: the ticket's inline payloads when they are the stored chunk's
 * own work (same digest), else its payload blob, a transient read error retried `retries` times.
 */
export async function loadPayloads(
  ports: GridPorts,
  chunk: ChunkRecord,
  ticket: Ticket | undefined,
  retries = 2,
): Promise<LoadedPayloads> {
  const inline = ticket?.digest === chunk.digest ? ticket.payloads : undefined;
  if (inline && inline.length === chunk.count) return { payloads: inline };
  for (let attempt = 0; attempt <= retries; attempt++) {
    try {
      // An upload link stays writable for its lifetime: never load more than a task may hold.
      if (chunk.payloadRef !== undefined) {
        const size = await ports.blobs.sizeOf(chunk.payloadKey);
        if (size === undefined || size > Limits.MAX_TASK_BYTES) return { missing: true };
      }
      const blob = await ports.blobs.get(chunk.payloadKey);
      if (blob === undefined) return { missing: true };
      // An uploaded payload is the raw input of the chunk's one task.
      if (chunk.payloadRef !== undefined) return { payloads: [blob] };
      const parsed = (JSON.parse(blob) as { payloads?: unknown }).payloads;
      return Array.isArray(parsed) && parsed.length === chunk.count
        ? { payloads: parsed as (string | null)[] }
        : { missing: true };
    } catch (error) {
      if (error instanceof SyntaxError) return { missing: true };
      if (attempt < retries) await ports.clock.sleep(100 * 2 ** attempt).catch(() => {});
    }
  }
  return { unreadable: true };
}
