/**
 * Task code run in worker threads (a warm Piscina pool), where the dispatcher can stop it: a
 * cancel, a timeout, a lost lease or a shutdown aborts the run, and the thread running it is
 * terminated (and replaced), so a hung or CPU-bound task never holds the worker's heartbeats,
 * commits or other tasks. Each thread loads the task modules once.
 */
import { resolve } from "node:path";
import type { TaskRunner } from "@tessera/core";
import { Piscina } from "piscina";

/** Options of {@link isolatedTaskRunner}. */
export interface IsolatedRunnerOptions {
  /** Threads kept warm (the tasks that can run at once). */
  threads: number;
  /** Task run when a batch names no handler. */
  defaultTask?: string | undefined;
}

/** A task runner over worker threads; `close()` stops the threads. */
export interface IsolatedRunner {
  run: TaskRunner;
  close(): Promise<void>;
}

/** Runs the defineTask modules at `modules` (paths) in a pool of `threads` worker threads. */
export function isolatedTaskRunner(
  modules: readonly string[],
  options: IsolatedRunnerOptions,
): IsolatedRunner {
  const pool = new Piscina({
    filename: new URL("./task-thread.ts", import.meta.url).href,
    minThreads: options.threads,
    maxThreads: options.threads,
    idleTimeout: Number.POSITIVE_INFINITY,
    workerData: { modules: modules.map((m) => resolve(m)), defaultTask: options.defaultTask },
  });
  return {
    run: async (task) => {
      const { signal, ...plain } = task;
      return (await pool.run(plain, { signal })) as string | undefined;
    },
    close: () => pool.destroy(),
  };
}
