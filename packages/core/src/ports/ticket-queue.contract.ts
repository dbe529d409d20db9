/** The TicketQueue contract, run against the memory queue and SQS (fauxqs). */
import { describe, expect, it } from "vitest";
import type { TicketQueue } from "./ticket-queue.ts";

/** A queue under test and a way to let time pass for it. */
export interface QueueHarness {
  queue: TicketQueue;
  /** A ticket queue whose DLQ is `deadLetter`, after `maxReceiveCount` receives. */
  name: string;
  deadLetter: string;
  maxReceiveCount: number;
  /** Lets `ms` of time pass (fake time for memory, a real wait for SQS). */
  advance(ms: number): Promise<void>;
}

const opts = (max = 10, visibilitySeconds = 30) => ({ max, waitSeconds: 0, visibilitySeconds });

/** Runs the TicketQueue contract against queues made by `make`. */
export function ticketQueueContract(name: string, make: () => Promise<QueueHarness>): void {
  describe(`TicketQueue contract: ${name}`, () => {
    it("delivers sent tickets in batches of at most ten, each once while invisible", async () => {
      const h = await make();
      await h.queue.send(
        h.name,
        Array.from({ length: 25 }, (_, i) => ({ body: `t${i}` })),
      );
      const bodies: string[] = [];
      for (let round = 0; round < 10; round++) {
        const got = await h.queue.receive(h.name, opts());
        expect(got.length).toBeLessThanOrEqual(10);
        for (const t of got) expect(t.receiveCount).toBe(1);
        bodies.push(...got.map((t) => t.body));
      }
      expect(bodies.sort()).toEqual(Array.from({ length: 25 }, (_, i) => `t${i}`).sort());
    });

    it("brings an unacknowledged ticket back after its visibility, with a higher receive count", async () => {
      const h = await make();
      await h.queue.send(h.name, [{ body: "x" }]);
      const [first] = await h.queue.receive(h.name, opts(10, 1));
      expect(first?.body).toBe("x");
      expect(await h.queue.receive(h.name, opts())).toEqual([]);
      await h.advance(1_500);
      const [again] = await h.queue.receive(h.name, opts());
      expect(again).toMatchObject({ body: "x", receiveCount: 2 });
    });

    it("deletes acknowledged tickets", async () => {
      const h = await make();
      await h.queue.send(h.name, [{ body: "a" }, { body: "b" }]);
      const got = await h.queue.receive(h.name, opts(10, 1));
      await h.queue.ack(
        h.name,
        got.map((t) => t.receipt),
      );
      await h.advance(1_500);
      expect(await h.queue.receive(h.name, opts())).toEqual([]);
    });

    it("re-times a received ticket: zero makes it visible at once", async () => {
      const h = await make();
      await h.queue.send(h.name, [{ body: "r" }]);
      const [t] = await h.queue.receive(h.name, opts());
      await h.queue.setVisibility(h.name, [{ receipt: t!.receipt, seconds: 0 }]);
      expect((await h.queue.receive(h.name, opts())).map((x) => x.body)).toEqual(["r"]);
    });

    it("holds a delayed ticket back until its delay passed", async () => {
      const h = await make();
      await h.queue.send(h.name, [{ body: "later", delaySeconds: 1 }]);
      expect(await h.queue.receive(h.name, opts())).toEqual([]);
      await h.advance(1_500);
      expect((await h.queue.receive(h.name, opts())).map((x) => x.body)).toEqual(["later"]);
    });

    it("moves a ticket to its dead-letter queue after maxReceiveCount receives", async () => {
      const h = await make();
      await h.queue.send(h.name, [{ body: "poison" }]);
      for (let i = 0; i < h.maxReceiveCount; i++) {
        const [t] = await h.queue.receive(h.name, opts(1));
        expect(t?.receiveCount).toBe(i + 1);
        await h.queue.setVisibility(h.name, [{ receipt: t!.receipt, seconds: 0 }]);
      }
      expect(await h.queue.receive(h.name, opts())).toEqual([]);
      const dead = await h.queue.receive(h.deadLetter, opts());
      expect(dead.map((t) => t.body)).toEqual(["poison"]);
    });

    it("rejects an unknown queue", async () => {
      const h = await make();
      await expect(h.queue.send("no-such-queue", [{ body: "x" }])).rejects.toThrow(/no-such-queue/);
    });
  });
}
