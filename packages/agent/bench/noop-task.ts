/** The no-op task of the warm-worker benchmark (workers.ts) as a TypeScript defineTask: gives its input back. */
import { defineTask } from "@tessera/task";
import { z } from "zod";

export const noop = defineTask("noop", z.unknown(), (input) => input);
