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
