import {
  FakeClock,
  MemoryBlobStore,
  MemoryTaskStore,
  MemoryTicketQueue,
  SystemClock,
} from "../adapters/memory/index.ts";
import type { GridPorts } from "../dispatch/grid-ports.ts";
import { DEFAULT_REAPER_TIMING, type ReaperTiming } from "../model/limits.ts";
import type { Clock } from "../ports/clock.ts";
import { defineGrid } from "../resources.ts";
import { seededRandom } from "./random.ts";

/** Grid ports over the in-memory adapters, with their concrete types exposed. */
export interface MemoryGrid extends GridPorts {
  store: MemoryTaskStore;
  queue: MemoryTicketQueue;
  blobs: MemoryBlobStore;
}

/** Builds an in-memory grid. A FakeClock (the default) makes runs deterministic. */
export function memoryGrid(
  options: { clock?: Clock; seed?: number; timing?: Partial<ReaperTiming>; pools?: string[] } = {},
): MemoryGrid {
  const clock = options.clock ?? new FakeClock();
  const grid = defineGrid({ pools: options.pools });
  return {
    store: new MemoryTaskStore(),
    queue: new MemoryTicketQueue(clock, grid.queues),
    blobs: new MemoryBlobStore(),
    clock,
    grid,
    timing: { ...DEFAULT_REAPER_TIMING, ...options.timing },
    random: seededRandom(options.seed ?? 1),
  };
}

/** A real-time in-memory grid (for benchmarks and the local grid). */
export function realtimeMemoryGrid(): MemoryGrid {
  return memoryGrid({ clock: new SystemClock(), seed: Date.now() });
}
