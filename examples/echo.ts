/**
 * The smallest task module: `echo` returns its input, `noop` returns nothing (benchmarks use
 * them to measure the grid's own overhead), `sleep` waits (to watch the agent fleet scale).
 */
import { setTimeout as delay } from "node:timers/promises";
import { defineTask } from "@tessera/task";
import { z } from "zod";

/** Returns its input unchanged. */
export const echo = defineTask("echo", z.unknown(), (input) => input);

/** Does nothing: the cost of a task is then all orchestration. */
export const noop = defineTask("noop", z.unknown(), () => undefined);

/** Waits `ms` milliseconds (stops early when cancelled): a stand-in for real work. */
export const sleep = defineTask(
  "sleep",
  z.object({ ms: z.number().int().min(0).max(900_000) }),
  async ({ ms }, { signal }) => {
    await delay(ms, undefined, { signal });
    return { sleptMs: ms };
  },
);
