export { FakeClock, SystemClock } from "./clocks.ts";
export { MemoryBlobStore } from "./memory-blob-store.ts";
export { MemoryTaskStore } from "./memory-task-store.ts";
export { MemoryTicketQueue } from "./memory-ticket-queue.ts";
