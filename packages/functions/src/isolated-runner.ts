/**
 * Task code run in worker threads (a warm Piscina pool), where the dispatcher can stop it: a
 * cancel, a timeout, a lost lease or a shutdown aborts the run, and the thread running it is
 * terminated (and replaced), so a hung or CPU-bound task never holds the worker's heartbeats,
 * commits or other tasks. Each thread loads the task code once.
 *
 * The threads load either the task modules themselves (agents, the local grid: files on disk),
 * or the worker's own entry (a bundled Lambda worker, where the task modules exist only inside
 * the bundle): the entry's `createWorkerHandler` sees that it runs in a task thread and returns
 * the task function in place of the Lambda handler.
 */
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { resolve } from "node:path";
import { isMainThread, workerData } from "node:worker_threads";
import type { TaskRunner } from "@tessera/core";
import { Piscina } from "piscina";

/** Marks the workerData of the threads that load a worker entry. */
const ENTRY_THREAD = "tesseraTaskThread";

/** Where the threads find the task code. */
export type TaskSource =
  /** Paths of defineTask modules. */
  | readonly string[]
  /**
   * A worker entry module (its URL, `import.meta.url`) that builds its handler with
   * `createWorkerHandler`, and the name it exports that handler under.
   */
  | { entry: string; exportName?: string | undefined };

/** Options of {@link isolatedTaskRunner}. */
export interface IsolatedRunnerOptions {
  /** Threads at most (the tasks that can run at once). */
  threads: number;
  /** Threads started up front and kept warm. @default threads */
  warmThreads?: number | undefined;
  /** Task run when a batch names no handler. */
  defaultTask?: string | undefined;
}

/** A task runner over worker threads; `close()` stops the threads. */
export interface IsolatedRunner {
  run: TaskRunner;
  close(): Promise<void>;
}

/** Runs the task code of `source` in a pool of worker threads. */
export function isolatedTaskRunner(source: TaskSource, options: IsolatedRunnerOptions): IsolatedRunner {
  const fromEntry = !Array.isArray(source);
  const entry = source as Exclude<TaskSource, readonly string[]>;
  const pool = new Piscina({
    filename: fromEntry ? entry.entry : new URL("./task-thread.ts", import.meta.url).href,
    name: fromEntry ? (entry.exportName ?? "handler") : "default",
    minThreads: Math.min(options.warmThreads ?? options.threads, options.threads),
    maxThreads: options.threads,
    idleTimeout: Number.POSITIVE_INFINITY,
    workerData: fromEntry
      ? { [ENTRY_THREAD]: true }
      : {
          modules: (source as readonly string[]).map((m) => resolve(m)),
          defaultTask: options.defaultTask,
        },
  });
  return {
    run: async (task) => {
      const { signal, ...plain } = task;
      return (await pool.run(plain, { signal })) as string | undefined;
    },
    close: () => pool.destroy(),
  };
}

/** True in a task thread that loaded a worker entry (see {@link TaskSource}). */
export function inEntryTaskThread(): boolean {
  return !isMainThread && (workerData as Record<string, unknown> | null)?.[ENTRY_THREAD] === true;
}

/**
 * Lowers the scheduling priority of the calling thread (nice 10, Linux): task code then yields
 * the CPU to the thread that heartbeats, commits and serves the API, and to the store, whenever
 * they need it. Elsewhere (no per-thread priority) it does nothing.
 */
export function yieldToDispatcher(): void {
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").at(-1));
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, 10);
  } catch {
    // not Linux, or not allowed: the thread keeps its priority
  }
}
