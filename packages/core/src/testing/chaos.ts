/**
 * Fault injection for simulations: wrappers that make the in-memory adapters behave like a bad
 * day on AWS. Every choice comes from one seeded random source, so a run is reproducible.
 */
import { TransientError } from "../errors.ts";
import type { BlobStore } from "../ports/blob-store.ts";
import type { TaskStore } from "../ports/task-store.ts";
import type { OutgoingTicket, ReceiveOptions, TicketQueue, VisibilityChange } from "../ports/ticket-queue.ts";

/** Fault probabilities (0 disables a fault). */
export interface FaultRates {
  /** A store call fails before doing anything (throttling, 5xx). */
  storeError: number;
  /** A store write is applied but its response is lost (the caller sees an error). */
  storeLostAck: number;
  /** A sent ticket is duplicated. */
  ticketDuplicate: number;
  /** A sent ticket is lost. */
  ticketLoss: number;
  /** A sent ticket is delayed (1-30 s). */
  ticketDelay: number;
  /** A queue call fails. */
  queueError: number;
  /** A blob read fails. */
  blobError: number;
}

/** No faults. */
export const NO_FAULTS: FaultRates = {
  storeError: 0,
  storeLostAck: 0,
  ticketDuplicate: 0,
  ticketLoss: 0,
  ticketDelay: 0,
  queueError: 0,
  blobError: 0,
};

/** Counts of injected faults. */
export type FaultCounts = Record<keyof FaultRates, number>;

/** Shared state of the wrappers: the random source, the current rates and what was injected. */
export class Chaos {
  rates: FaultRates = { ...NO_FAULTS };
  readonly counts: FaultCounts = { ...NO_FAULTS };
  /**
   * While this returns true every store call fails, as DynamoDB throttles a table through a
   * traffic spike (the simulation sets it for episodes of several minutes).
   */
  throttled: () => boolean = () => false;
  /** Store calls refused by throttling episodes. */
  throttledCalls = 0;
  readonly #random: () => number;

  constructor(random: () => number) {
    this.#random = random;
  }

  /** True with probability `rates[fault]`, counting the hit. */
  hit(fault: keyof FaultRates): boolean {
    const rate = this.rates[fault];
    if (rate <= 0 || this.#random() >= rate) return false;
    this.counts[fault]++;
    return true;
  }

  /** A uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.#random() * (hi - lo + 1));
  }
}

const WRITES = new Set([
  "insertChunks",
  "writeChunks",
  "writeSession",
  "raiseSessionGroups",
  "putCompletion",
  "deactivateSession",
  "createSession",
  "renewGroups",
  "renewSession",
]);

/** A TaskStore that fails calls, and loses the acknowledgement of writes, at the chaos rates. */
export function chaosStore(inner: TaskStore, chaos: Chaos): TaskStore {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== "function") return value;
      if (prop === "writeChunks") return chaosWriteChunks(target, chaos);
      return async (...args: unknown[]) => {
        if (chaos.throttled()) {
          chaos.throttledCalls++;
          throw new TransientError(`injected throttling of ${String(prop)}`);
        }
        if (chaos.hit("storeError")) throw new TransientError(`injected ${String(prop)} failure`);
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        if (WRITES.has(String(prop)) && chaos.hit("storeLostAck"))
          throw new TransientError(`injected lost ack of ${String(prop)}`);
        return result;
      };
    },
  });
}

/**
 * writeChunks as DynamoDB answers it: each write on its own, so one write can fail (`error`,
 * nothing written) or land with its answer lost (`error` too) while the others land; and
 * sometimes the whole call fails.
 */
function chaosWriteChunks(target: TaskStore, chaos: Chaos): TaskStore["writeChunks"] {
  return async (writes) => {
    if (chaos.throttled()) {
      chaos.throttledCalls++;
      throw new TransientError("injected throttling of writeChunks");
    }
    if (chaos.hit("storeError")) throw new TransientError("injected writeChunks failure");
    const out: Awaited<ReturnType<TaskStore["writeChunks"]>> = [];
    for (const w of writes) {
      if (chaos.hit("storeError")) {
        out.push("error");
        continue;
      }
      const [result] = await target.writeChunks([w]);
      out.push(result === "ok" && chaos.hit("storeLostAck") ? "error" : result!);
    }
    return out;
  };
}

/** A TicketQueue that duplicates, loses and delays tickets and fails calls at the chaos rates. */
export function chaosQueue(inner: TicketQueue, chaos: Chaos): TicketQueue {
  return {
    async send(queue: string, tickets: readonly OutgoingTicket[]): Promise<void> {
      if (chaos.hit("queueError")) throw new TransientError("injected send failure");
      const out: OutgoingTicket[] = [];
      for (const t of tickets) {
        if (chaos.hit("ticketLoss")) continue;
        const delayed = chaos.hit("ticketDelay")
          ? { ...t, delaySeconds: (t.delaySeconds ?? 0) + chaos.int(1, 30) }
          : t;
        out.push(delayed);
        if (chaos.hit("ticketDuplicate")) out.push({ ...t });
      }
      await inner.send(queue, out);
    },
    async receive(queue: string, options: ReceiveOptions) {
      if (chaos.hit("queueError")) throw new TransientError("injected receive failure");
      return inner.receive(queue, options);
    },
    async ack(queue: string, receipts: readonly string[]) {
      if (chaos.hit("queueError")) throw new TransientError("injected ack failure");
      return inner.ack(queue, receipts);
    },
    async setVisibility(queue: string, changes: readonly VisibilityChange[]) {
      if (chaos.hit("queueError")) throw new TransientError("injected visibility failure");
      return inner.setVisibility(queue, changes);
    },
  };
}

/** A BlobStore whose reads fail at the chaos rate. */
export function chaosBlobs(inner: BlobStore, chaos: Chaos): BlobStore {
  return {
    put: (key, body) => inner.put(key, body),
    async get(key) {
      if (chaos.hit("blobError")) throw new TransientError("injected blob read failure");
      return inner.get(key);
    },
    sizeOf: (key) => inner.sizeOf(key),
    link: (key, method, seconds) => inner.link(key, method, seconds),
  };
}
