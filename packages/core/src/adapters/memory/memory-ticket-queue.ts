import { GridError } from "../../errors.ts";
import type { Clock } from "../../ports/clock.ts";
import type {
  OutgoingTicket,
  ReceivedTicket,
  ReceiveOptions,
  TicketQueue,
  VisibilityChange,
} from "../../ports/ticket-queue.ts";
import type { QueueDefinition } from "../../resources.ts";

interface StoredTicket {
  id: number;
  body: string;
  visibleAt: number;
  receiveCount: number;
  receipt?: string | undefined;
}

interface QueueState {
  tickets: Map<number, StoredTicket>;
  deadLetter?: string | undefined;
  maxReceiveCount: number;
}

/**
 * SQS semantics in memory: delays, visibility timeouts, receive counts, receipts that go
 * stale on re-receive, and a redrive to the dead-letter queue after `maxReceiveCount`
 * receives. Deterministic: tickets are offered in send order.
 */
export class MemoryTicketQueue implements TicketQueue {
  readonly #queues = new Map<string, QueueState>();
  readonly #clock: Clock;
  #nextId = 1;
  #waiters = new Set<() => void>();

  constructor(clock: Clock, queues: readonly QueueDefinition[]) {
    this.#clock = clock;
    for (const q of queues) {
      this.#queues.set(q.name, {
        tickets: new Map(),
        deadLetter: q.deadLetter,
        maxReceiveCount: q.maxReceiveCount,
      });
      this.#queues.set(q.deadLetter, { tickets: new Map(), maxReceiveCount: Number.POSITIVE_INFINITY });
    }
  }

  #queue(name: string): QueueState {
    const q = this.#queues.get(name);
    if (!q) throw new GridError("NOT_FOUND", `queue ${name} does not exist`);
    return q;
  }

  async send(queue: string, tickets: readonly OutgoingTicket[]): Promise<void> {
    const q = this.#queue(queue);
    const now = this.#clock.now();
    for (const t of tickets) {
      const id = this.#nextId++;
      q.tickets.set(id, { id, body: t.body, visibleAt: now + (t.delaySeconds ?? 0) * 1000, receiveCount: 0 });
    }
    for (const wake of this.#waiters) wake();
  }

  #take(queue: string, options: ReceiveOptions): ReceivedTicket[] {
    const q = this.#queue(queue);
    const now = this.#clock.now();
    const out: ReceivedTicket[] = [];
    for (const t of q.tickets.values()) {
      if (out.length >= options.max) break;
      if (t.visibleAt > now) continue;
      if (q.deadLetter !== undefined && t.receiveCount >= q.maxReceiveCount) {
        q.tickets.delete(t.id);
        const dlq = this.#queue(q.deadLetter);
        dlq.tickets.set(t.id, { ...t, visibleAt: now, receipt: undefined });
        continue;
      }
      t.receiveCount++;
      t.receipt = `${t.id}:${t.receiveCount}`;
      t.visibleAt = now + options.visibilitySeconds * 1000;
      out.push({ body: t.body, receipt: t.receipt, receiveCount: t.receiveCount });
    }
    return out;
  }

  #nextVisible(queue: string): number | undefined {
    let next: number | undefined;
    for (const t of this.#queue(queue).tickets.values())
      if (next === undefined || t.visibleAt < next) next = t.visibleAt;
    return next;
  }

  async receive(queue: string, options: ReceiveOptions): Promise<ReceivedTicket[]> {
    const deadline = this.#clock.now() + options.waitSeconds * 1000;
    for (;;) {
      const got = this.#take(queue, options);
      const now = this.#clock.now();
      if (got.length > 0 || now >= deadline || options.signal?.aborted) return got;
      const wakeAt = Math.min(deadline, Math.max(now + 1, this.#nextVisible(queue) ?? deadline));
      const stop = new AbortController();
      const onAbort = () => stop.abort();
      options.signal?.addEventListener("abort", onAbort, { once: true });
      const woken = new Promise<void>((resolve) => {
        const wake = () => resolve();
        this.#waiters.add(wake);
        stop.signal.addEventListener("abort", () => this.#waiters.delete(wake), { once: true });
      });
      await Promise.race([woken, this.#clock.sleep(wakeAt - now, stop.signal).catch(() => {})]);
      stop.abort();
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  #byReceipt(queue: string, receipt: string): StoredTicket | undefined {
    const id = Number(receipt.split(":")[0]);
    const t = this.#queue(queue).tickets.get(id);
    return t !== undefined && t.receipt === receipt ? t : undefined;
  }

  async ack(queue: string, receipts: readonly string[]): Promise<void> {
    const q = this.#queue(queue);
    for (const r of receipts) {
      const t = this.#byReceipt(queue, r);
      if (t) q.tickets.delete(t.id);
    }
  }

  async setVisibility(queue: string, changes: readonly VisibilityChange[]): Promise<void> {
    const now = this.#clock.now();
    for (const c of changes) {
      const t = this.#byReceipt(queue, c.receipt);
      if (t && t.visibleAt > now) t.visibleAt = now + c.seconds * 1000;
    }
  }

  /** Tickets in a queue, visible or not (for tests and simulations). */
  depth(queue: string): number {
    return this.#queue(queue).tickets.size;
  }

  /** Drops a ticket as if SQS lost it (simulations): returns false when the queue is empty. */
  loseOne(queue: string, pick: (count: number) => number): boolean {
    const tickets = [...this.#queue(queue).tickets.keys()];
    if (tickets.length === 0) return false;
    this.#queue(queue).tickets.delete(tickets[pick(tickets.length)]!);
    return true;
  }
}
