import { blobStoreContract } from "../../ports/blob-store.contract.ts";
import { taskStoreContract } from "../../ports/task-store.contract.ts";
import { ticketQueueContract } from "../../ports/ticket-queue.contract.ts";
import { defineGrid } from "../../resources.ts";
import { FakeClock } from "./clocks.ts";
import { MemoryBlobStore } from "./memory-blob-store.ts";
import { MemoryTaskStore } from "./memory-task-store.ts";
import { MemoryTicketQueue } from "./memory-ticket-queue.ts";

taskStoreContract("memory", () => new MemoryTaskStore());
blobStoreContract("memory", () => new MemoryBlobStore());
ticketQueueContract("memory", async () => {
  const clock = new FakeClock();
  const q = defineGrid().queues[0]!;
  return {
    queue: new MemoryTicketQueue(clock, [q]),
    name: q.name,
    deadLetter: q.deadLetter,
    maxReceiveCount: q.maxReceiveCount,
    advance: async (ms) => clock.advance(ms),
  };
});
