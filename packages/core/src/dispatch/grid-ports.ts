import type { ReaperTiming } from "../model/limits.ts";
import type { BlobStore } from "../ports/blob-store.ts";
import type { Clock } from "../ports/clock.ts";
import type { TaskStore } from "../ports/task-store.ts";
import type { TicketQueue } from "../ports/ticket-queue.ts";
import type { GridDefinition } from "../resources.ts";

/** The ports and settings every dispatch operation works through. */
export interface GridPorts {
  store: TaskStore;
  queue: TicketQueue;
  blobs: BlobStore;
  clock: Clock;
  grid: GridDefinition;
  timing: ReaperTiming;
  /** Uniform draws in [0, 1) for jitter; seeded in simulations. */
  random: () => number;
}

/** Runs `fn` over `items` with at most `limit` in flight, preserving result order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(workers);
  return out;
}
