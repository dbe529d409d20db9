/**
 * The Lambda worker on warm worker processes of any language (docs/worker-protocol.md), for a
 * container-image function that holds the language's runtime (infra/image-workers.ts): the same
 * worker handler, with the agent's worker pool as its task runner instead of defineTask modules.
 *
 * The pool is started by the first invocation of an execution environment and kept with it, so
 * an interpreter and its imports are paid once per container, not once per task. Lambda freezes
 * the container between invocations, children included; a process that died meanwhile (or under
 * a task) is restarted by the pool. A pool that cannot start fails the invocation before any
 * ticket is claimed: its tickets come back, no attempt is charged, and the next invocation tries
 * a fresh pool. The function's deadline bounds each task as in the zip worker: the task's signal
 * aborts, the process gets `cancel`, and is killed after the pool's grace.
 */
import { isLogLevel, jsonLineSink, type WorkerPool, workerPool } from "@tessera/task";
import { split } from "shlex";
import type { WorkerOptions } from "./worker.ts";

/** Worker processes per container when TESSERA_WORKER_CONCURRENCY is unset: the worker's per-invocation concurrency. */
export const DEFAULT_WORKER_CONCURRENCY = 16;

/** What the environment says to run: the command split as a shell would, and how many processes. */
export interface WarmWorkerSettings {
  command: string;
  args: string[];
  concurrency: number;
}

/**
 * Reads TESSERA_WORKER_COMMAND (e.g. `python3 -m tessera.worker pricing`) and
 * TESSERA_WORKER_CONCURRENCY; a bad value throws an error naming the variable.
 */
export function warmWorkerSettings(env: NodeJS.ProcessEnv): WarmWorkerSettings {
  let argv: string[];
  try {
    argv = split(env.TESSERA_WORKER_COMMAND ?? "");
  } catch (error) {
    throw new Error(`TESSERA_WORKER_COMMAND: ${(error as Error).message}`);
  }
  if (argv.length === 0)
    throw new Error("TESSERA_WORKER_COMMAND: give the command that starts a worker process");
  const given = env.TESSERA_WORKER_CONCURRENCY;
  const concurrency = given === undefined || given === "" ? DEFAULT_WORKER_CONCURRENCY : Number(given);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new Error(`TESSERA_WORKER_CONCURRENCY: must be a whole number of at least 1 (got "${given}")`);
  return { command: argv[0]!, args: argv.slice(1), concurrency };
}

/**
 * The worker options of a warm-worker function: a pool of the environment's command, started by
 * the first invocation (`prepare`) and kept for the container's life. A bad setting throws here,
 * naming the variable (in Lambda, the function's init fails saying so); nothing is spawned yet.
 */
export function warmWorkerOptions(env: NodeJS.ProcessEnv = process.env): WorkerOptions {
  const settings = warmWorkerSettings(env);
  const logLevel = isLogLevel(env.TESSERA_TASK_LOG_LEVEL) ? env.TESSERA_TASK_LOG_LEVEL : undefined;
  // The function's own lines (CloudWatch Logs): the workers' output, their crashes and restarts.
  const log = (message: string, fields: Record<string, unknown>) =>
    console.error(JSON.stringify({ message, ...fields }));
  let pool: WorkerPool | undefined;
  let starting: Promise<void> | undefined;
  return {
    // No defineTask modules: every task goes to the pool, which knows its workers' handlers.
    tasks: new Map(),
    concurrency: settings.concurrency,
    // Called only once `prepare` has resolved, so the pool is there.
    runner: (task) => pool!.run(task),
    runnerCapacity: () => pool?.capacity() ?? 0,
    prepare() {
      starting ??= (async () => {
        const fresh = workerPool({
          command: settings.command,
          args: settings.args,
          processes: settings.concurrency,
          logSink: jsonLineSink(),
          logLevel,
          log,
        });
        try {
          const handlers = await fresh.ready();
          log("worker processes ready", { pids: fresh.pids(), handlers });
          pool = fresh;
        } catch (error) {
          // A pool that failed to start is closed: the next invocation starts another.
          starting = undefined;
          throw new Error(
            `TESSERA_WORKER_COMMAND: the worker processes could not start: ${(error as Error).message}`,
          );
        }
      })();
      return starting;
    },
  };
}
