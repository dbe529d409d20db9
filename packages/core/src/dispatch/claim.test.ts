import { describe, expect, it } from "vitest";
import type { FakeClock } from "../adapters/memory/clocks.ts";
import { TransientError } from "../errors.ts";
import { memoryGrid } from "../testing/memory-grid.ts";
import { errorBackoffSeconds } from "./claim.ts";
import { Dispatcher } from "./dispatcher.ts";
import { createSession } from "./sessions.ts";
import { submitTasks } from "./submitter.ts";

const QUEUE = "default-normal";

describe("claims under store errors", () => {
  it("back a ticket off by its receive count: 1, 2, 4 … seconds, at most 5 minutes", () => {
    expect([1, 2, 3, 4, 9, 10, 50].map(errorBackoffSeconds)).toEqual([1, 2, 4, 8, 256, 300, 300]);
    // 50 receives (SQS's dead-letter threshold) span hours of errors, not seconds.
    const total = Array.from({ length: 49 }, (_, i) => errorBackoffSeconds(i + 1)).reduce((a, b) => a + b);
    expect(total).toBeGreaterThan(3 * 3600);
  });

  it("re-time the ticket further each time the store fails it", async () => {
    const grid = memoryGrid();
    const clock = grid.clock as FakeClock;
    let throttled = false;
    const store = new Proxy(grid.store, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) =>
          throttled && prop === "getChunks"
            ? Promise.reject(new TransientError("throttled"))
            : (value as (...a: unknown[]) => unknown).apply(target, args);
      },
    });
    const key = { tenant: "acme", sessionId: "throttled" };
    await createSession(grid, key.tenant, { sessionId: key.sessionId });
    await submitTasks(grid, key, { tasks: [{ index: 0 }] });
    throttled = true;
    const d = new Dispatcher({ ...grid, store }, { owner: "w", runner: async () => "ok" });
    const receive = () => grid.queue.receive(QUEUE, { max: 1, waitSeconds: 0, visibilitySeconds: 60 });
    for (const wait of [1, 2, 4]) {
      const tickets = await receive();
      expect(tickets).toHaveLength(1);
      await d.accept(QUEUE, tickets);
      await d.acker.flush();
      clock.advance(wait * 1000 - 1);
      expect(await receive()).toEqual([]); // still hidden
      clock.advance(1);
    }
  });
});
