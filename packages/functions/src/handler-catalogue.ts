/**
 * What each pool runs: the task types (handlers) its workers and agents know, and the one they
 * run for a batch that names none. The API checks a submit against its session's pool, so a
 * misspelt handler is a 400 at once instead of every task failing after its retries. The
 * catalogue is known where the grid is assembled: `infra/` reads it from the worker's and the
 * agents' task modules at deploy time, the local grid from its own.
 */
import { IdSchema, ValidationError } from "@tessera/core";
import { z } from "zod";

/** What one pool's workers and agents run. */
export const PoolHandlersSchema = z
  .object({
    handlers: z.array(IdSchema),
    /** Run for a batch that names no handler; null when the workers have no default task. */
    default: IdSchema.nullable(),
  })
  .strict()
  .refine((p) => p.default === null || p.handlers.includes(p.default), {
    message: "must be one of the pool's handlers",
    path: ["default"],
  });
export type PoolHandlers = z.output<typeof PoolHandlersSchema>;

/**
 * Per pool. A pool not listed has an unknown catalogue and accepts any handler name: it is
 * served by code the grid cannot see (external `--command` agents, an agent image of its own).
 */
export const HandlerCatalogueSchema = z.record(IdSchema, PoolHandlersSchema);
export type HandlerCatalogue = z.output<typeof HandlerCatalogueSchema>;

/** Parses a catalogue's JSON (the value of `variable`), with an error naming the variable and field. */
export function parseHandlerCatalogue(json: string, variable = "TESSERA_HANDLERS"): HandlerCatalogue {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw new Error(`${variable}: not valid JSON (${(error as Error).message})`);
  }
  const parsed = HandlerCatalogueSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const at = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
  throw new Error(
    `${variable}${at}: ${issue.message} (expected {"pool": {"handlers": ["name", …], "default": "name" | null}})`,
  );
}

/**
 * Refuses a batch its session's pool cannot run: a handler the pool does not know, or none
 * where the pool has no default task. A ValidationError naming `handler`: a 400, nothing stored.
 */
export function checkHandler(
  catalogue: HandlerCatalogue | undefined,
  pool: string,
  handler: string | undefined,
): void {
  if (!catalogue || !Object.hasOwn(catalogue, pool)) return;
  const known = catalogue[pool]!;
  const runs = `it runs: ${known.handlers.join(", ") || "nothing"}`;
  if (handler === undefined) {
    if (known.default === null)
      throw new ValidationError("handler", `required: pool ${pool} has no default task (${runs})`);
    return;
  }
  if (!known.handlers.includes(handler))
    throw new ValidationError("handler", `unknown task "${handler}" for pool ${pool} (${runs})`);
}

/** The catalogue of pools that all run the same task types (e.g. the local grid's). */
export function catalogueOf(
  pools: readonly string[],
  handlers: Iterable<string>,
  defaultTask: string | null = null,
): HandlerCatalogue {
  const names = [...new Set(handlers)].sort();
  return Object.fromEntries(pools.map((pool) => [pool, { handlers: names, default: defaultTask }]));
}
