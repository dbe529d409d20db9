export type { MemoryGrid } from "./memory-grid.ts";
export { memoryGrid, realtimeMemoryGrid } from "./memory-grid.ts";
export { seededRandom } from "./random.ts";
