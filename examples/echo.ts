/**
 * The smallest task module: `echo` returns its input, `noop` returns nothing. Benchmarks use
 * them to measure the grid's own overhead.
 */
import { defineTask } from "@tessera/functions";
import { z } from "zod";

/** Returns its input unchanged. */
export const echo = defineTask("echo", z.unknown(), (input) => input);

/** Does nothing: the cost of a task is then all orchestration. */
export const noop = defineTask("noop", z.unknown(), () => undefined);
