/**
 * Task code run in worker threads (a warm Piscina pool), where the dispatcher can stop it: a
 * cancel, a timeout, a lost lease or a shutdown fires the task's own AbortSignal in its thread
 * (so it can clean up and stop), and a task still running {@link ABANDON_GRACE_MS} later is
 * stopped by terminating its thread (which is replaced), so a hung or CPU-bound task never holds
 * the worker's heartbeats, commits or other tasks. Each thread loads the task code once.
 *
 * The threads load either the task modules themselves (agents, the local grid: files on disk),
 * or an entry module (a bundled Lambda worker or agent, where the task modules exist only inside
 * the bundle): the entry asks {@link entryThreadTask}, which in a task thread returns the task
 * function the entry then exports in place of its handler (the Lambda worker's
 * `createWorkerHandler` does this for its `isolate` option).
 */
import { randomUUID } from "node:crypto";
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { resolve } from "node:path";
import { BroadcastChannel, isMainThread, workerData } from "node:worker_threads";
import { ABANDON_GRACE_MS, type TaskContext, type TaskRunner } from "@tessera/core";
import { Piscina } from "piscina";
import { type TaskDefinition, type TaskRunnerOptions, taskRunner } from "./task-definition.ts";
import type { LogLevel, TaskLogEntry, TaskLogSink } from "./task-log.ts";

/** Marks the workerData of the threads that load a worker entry. */
const ENTRY_THREAD = "tesseraTaskThread";
/** Names (in workerData) the channel on which a pool announces its runs' aborts. */
const ABORTS = "tesseraAborts";
/** Names (in workerData) the channel on which task threads send their log entries, if any. */
const LOGS = "tesseraLogs";
/** The least severe level kept (in workerData). */
const LOG_LEVEL = "tesseraLogLevel";

/** A run as handed to a task thread: the task without its signal, and the run's number. */
export type ThreadTask = Omit<TaskContext, "signal"> & { run: number };
/** An abort as announced to the task threads. */
interface AbortNotice {
  run: number;
  reason: unknown;
}

/** Where the threads find the task code. */
export type TaskSource =
  /** Paths of defineTask modules. */
  | readonly string[]
  /**
   * An entry module (its URL, `import.meta.url`) that exports, under `exportName` (default
   * `handler`), what {@link entryThreadTask} returns in a task thread.
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
  /** Where the entries the tasks log go, in this (the pool's) thread; without it they are dropped. */
  logSink?: TaskLogSink | undefined;
  /** Least severe level kept. @default "info" */
  logLevel?: LogLevel | undefined;
}

/** A task runner over worker threads; `close()` stops the threads. */
export interface IsolatedRunner {
  run: TaskRunner;
  /**
   * Resolves once the warm threads have loaded the task code: a worker should take no work
   * before (a task handed over earlier waits for a thread to boot, charged but not running).
   */
  ready(): Promise<void>;
  /**
   * Tasks that would start at once: threads booted and idle (a thread replaced after an abort
   * takes a moment to load the task code). See DispatcherOptions.runnerCapacity.
   */
  capacity(): number;
  close(): Promise<void>;
}

/** Runs the task code of `source` in a pool of worker threads. */
export function isolatedTaskRunner(source: TaskSource, options: IsolatedRunnerOptions): IsolatedRunner {
  const fromEntry = !Array.isArray(source);
  const entry = source as Exclude<TaskSource, readonly string[]>;
  // Aborts are rare (cancels, timeouts, lost leases): they are broadcast to every thread, and the
  // one running that run aborts it, which costs a run nothing when nobody aborts it.
  const aborts = `tessera-aborts-${randomUUID()}`;
  const channel = new BroadcastChannel(aborts);
  channel.unref();
  // Entries come back the same way, one message each, posted only by tasks that log.
  const logs = options.logSink ? `tessera-logs-${randomUUID()}` : undefined;
  const logChannel = logs ? new BroadcastChannel(logs) : undefined;
  if (logChannel) {
    const sink = options.logSink!;
    logChannel.onmessage = (event) => sink((event as { data: TaskLogEntry }).data);
    logChannel.unref();
  }
  const logData = logs ? { [LOGS]: logs, [LOG_LEVEL]: options.logLevel } : {};
  const pool = new Piscina({
    filename: fromEntry ? entry.entry : new URL("./task-thread.ts", import.meta.url).href,
    name: fromEntry ? (entry.exportName ?? "handler") : "default",
    minThreads: Math.min(options.warmThreads ?? options.threads, options.threads),
    maxThreads: options.threads,
    idleTimeout: Number.POSITIVE_INFINITY,
    workerData: fromEntry
      ? { [ENTRY_THREAD]: true, [ABORTS]: aborts, ...logData }
      : {
          [ABORTS]: aborts,
          ...logData,
          modules: (source as readonly string[]).map((m) => resolve(m)),
          defaultTask: options.defaultTask,
        },
  });
  let runs = 0;
  let inFlight = 0;
  const warm = Math.min(options.warmThreads ?? options.threads, options.threads);
  const booted = new Promise<void>((resolve, reject) => {
    const check = () => {
      if (pool.threads.length < warm) return;
      pool.off("workerCreate", check);
      resolve();
    };
    pool.on("workerCreate", check);
    pool.once("error", reject);
    check();
  });
  booted.catch(() => {}); // a pool that fails to boot fails its runs too; ready() reports it
  return {
    ready: () => booted,
    capacity: () => Math.max(0, pool.threads.length - inFlight),
    run: async (task) => {
      const { signal, ...plain } = task;
      const run = ++runs;
      const terminate = new AbortController();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = () => {
        channel.postMessage({ run, reason: signal.reason } satisfies AbortNotice);
        timer = setTimeout(() => terminate.abort(signal.reason), ABANDON_GRACE_MS);
      };
      if (signal.aborted) terminate.abort(signal.reason);
      else signal.addEventListener("abort", onAbort, { once: true });
      inFlight++;
      try {
        return (await pool.run({ ...plain, run } satisfies ThreadTask, { signal: terminate.signal })) as
          | string
          | undefined;
      } finally {
        inFlight--;
        signal.removeEventListener("abort", onAbort);
        clearTimeout(timer);
      }
    },
    close: async () => {
      channel.close();
      await pool.destroy();
      logChannel?.close();
    },
  };
}

/** The function a task thread runs each task with. */
export type ThreadTaskFunction = (task: ThreadTask) => Promise<string | undefined>;

/**
 * In a task thread: runs tasks with `run`, each with an AbortSignal that fires when the pool
 * announces the run's abort.
 */
export function threadTaskFunction(run: TaskRunner): ThreadTaskFunction {
  const running = new Map<number, AbortController>();
  const channel = new BroadcastChannel(String((workerData as Record<string, unknown>)[ABORTS]));
  channel.unref();
  channel.onmessage = (event) => {
    const notice = (event as { data: AbortNotice }).data;
    running.get(notice.run)?.abort(notice.reason);
  };
  return async ({ run: id, ...task }) => {
    const controller = new AbortController();
    running.set(id, controller);
    try {
      return await run({ ...task, signal: controller.signal });
    } finally {
      running.delete(id);
    }
  };
}

/**
 * In a task thread: the log options of its pool, whose entries are posted to the pool's thread
 * (the channel is opened on the first entry: a task that logs nothing costs nothing), or
 * undefined when the pool keeps no logs.
 */
export function threadLogOptions(): Pick<TaskRunnerOptions, "logSink" | "logLevel"> | undefined {
  const data = workerData as Record<string, unknown> | null;
  const name = data?.[LOGS];
  if (typeof name !== "string") return undefined;
  let channel: BroadcastChannel | undefined;
  return {
    logLevel: data?.[LOG_LEVEL] as LogLevel | undefined,
    logSink: (entry) => {
      if (!channel) {
        channel = new BroadcastChannel(name);
        channel.unref();
      }
      channel.postMessage(entry);
    },
  };
}

/** True in a task thread that loaded an entry module (see {@link TaskSource}). */
function inEntryTaskThread(): boolean {
  return !isMainThread && (workerData as Record<string, unknown> | null)?.[ENTRY_THREAD] === true;
}

/**
 * For an entry module that its own task threads load (see {@link TaskSource}): in such a thread,
 * the task function over `tasks` that the entry must export; anywhere else undefined, and the
 * entry builds its usual handler. A bundle thus serves as its threads' code, since its task
 * modules exist nowhere else.
 */
export function entryThreadTask(
  tasks: Map<string, TaskDefinition>,
  options: TaskRunnerOptions = {},
): ThreadTaskFunction | undefined {
  if (!inEntryTaskThread()) return undefined;
  yieldToDispatcher();
  // The pool's sink, when it has one, takes the entries (and a logger of the entry's own would
  // write from a thread nobody reads); otherwise the entry's options stand.
  const logs = threadLogOptions();
  const { logger: _entryLogger, ...rest } = options;
  return threadTaskFunction(taskRunner(tasks, logs ? { ...rest, ...logs } : options));
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
