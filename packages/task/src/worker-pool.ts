/**
 * Warm workers: `processes` long-lived worker processes (any language speaking
 * docs/worker-protocol.md), one task at a time each, as the TaskRunner of an agent
 * (`--worker`) or of the Lambda worker's warm-worker entry. A process pays
 * its start (an interpreter and its imports) once, not once per task. A timeout or an abort
 * sends `cancel`; a process that has not ended its task within the grace is killed and replaced.
 * A process that dies under a task fails only that task, WORKER_CRASHED (retried per
 * maxAttempts), and is restarted with exponential backoff.
 */
import { type TaskContext, TaskFailure, type TaskRunner } from "@tessera/core";
import { type LogLevel, type TaskLogSink, taskLogger } from "./task-log.ts";
import { WorkerProcess } from "./worker-process.ts";
import type { WorkerMessage } from "./worker-protocol.ts";

/** Settings of a worker pool. */
export interface WorkerPoolOptions {
  /** Program of the worker processes. */
  command: string;
  /** Its arguments. @default [] */
  args?: string[];
  /** Worker processes (the agent's concurrency). */
  processes: number;
  /** Working directory. @default the agent's */
  cwd?: string | undefined;
  /** Added to the workers' environment. */
  env?: Record<string, string> | undefined;
  /** Task run when a batch names no handler. */
  defaultTask?: string | undefined;
  /** Longest run before the task is stopped; the task then fails. @default unlimited */
  timeoutMs?: number | undefined;
  /** Time a process has to end its task after `cancel` before it is killed. @default 2000 */
  cancelGraceMs?: number | undefined;
  /** Longest wait for a process' `ready`. @default 30000 */
  readyTimeoutMs?: number | undefined;
  /** Longest wait before restarting a process that crashed again and again. @default 30000 */
  restartCapMs?: number | undefined;
  /** Where task log entries go, as defineTask's `ctx.logger` lines do. */
  logSink?: TaskLogSink | undefined;
  /** @default "info" */
  logLevel?: LogLevel | undefined;
  /** The agent's own log: process crashes and restarts, and the workers' output lines. */
  log?: ((message: string, fields: Record<string, unknown>) => void) | undefined;
}

/** A pool of warm worker processes. */
export interface WorkerPool {
  /** The TaskRunner that runs tasks on the pool's processes. */
  run: TaskRunner;
  /** Starts the processes; resolves with the handlers they serve, or rejects saying why one could not start. */
  ready(): Promise<string[]>;
  /** Processes idle right now (the dispatcher claims no more runs than this). */
  capacity(): number;
  /** Ids of the live processes. */
  pids(): number[];
  /** Kills every process. */
  close(): Promise<void>;
}

/** What a process is doing for the run it was given. */
interface Run {
  onMessage(message: WorkerMessage): void;
  onEnd(why: string): void;
}

/** One process slot: its current process, and how many times in a row it crashed. */
interface Slot {
  process?: WorkerProcess | undefined;
  crashes: number;
  restart?: ReturnType<typeof setTimeout> | undefined;
}

/** Codes the dispatcher gives from its own knowledge; a worker cannot claim them. */
const RESERVED = new Set(["CANCELLED", "TIMEOUT", "DEADLINE", "RELEASED", "WORKER_CRASHED", "HANDLER_ERROR"]);

/** The failure a worker's `error` message stands for: with its code if it names a fair one. */
function failure(code: string | undefined, message: string): Error {
  if (code && !RESERVED.has(code) && /^[A-Z][A-Z0-9_]{0,63}$/.test(code))
    return new TaskFailure(code, message);
  return new Error(message);
}

/** Creates a pool; nothing is spawned before {@link WorkerPool.ready}. */
export function workerPool(options: WorkerPoolOptions): WorkerPool {
  const log = options.log ?? (() => {});
  const restartCapMs = options.restartCapMs ?? 30_000;
  const slots: Slot[] = Array.from({ length: options.processes }, () => ({ crashes: 0 }));
  const idle: WorkerProcess[] = [];
  const waiters: Array<(p: WorkerProcess) => void> = [];
  const runs = new Map<WorkerProcess, Run>();
  /** Processes the pool killed itself (a task that ignored its cancel): replaced at once. */
  const killed = new WeakSet<WorkerProcess>();
  let handlers: string[] = [];
  let closed = false;
  let seq = 0;

  const release = (p: WorkerProcess) => {
    if (closed || p.ended !== undefined) return;
    const waiter = waiters.shift();
    if (waiter) waiter(p);
    else idle.push(p);
  };

  const start = (slot: Slot) =>
    WorkerProcess.start({
      command: options.command,
      args: options.args ?? [],
      cwd: options.cwd,
      // Lines below the agent's level are dropped in the worker, not sent to be dropped here.
      env: { ...options.env, TESSERA_WORKER_LOG_LEVEL: options.logLevel ?? "info" },
      readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
      onOutput: (pid, stream, line) => log(`worker ${stream}`, { pid, line }),
    }).then((p) => {
      slot.process = p;
      handlers = p.handlers;
      p.onMessage = (m) => runs.get(p)?.onMessage(m);
      p.onEnd = (why) => {
        const i = idle.indexOf(p);
        if (i !== -1) idle.splice(i, 1);
        runs.get(p)?.onEnd(why);
        runs.delete(p);
        slot.process = undefined;
        if (closed) return;
        if (killed.has(p))
          log("worker process killed after ignoring its cancel; replacing it", { pid: p.pid });
        else slot.crashes++;
        restart(slot, killed.has(p) ? undefined : `the worker process ${why}`, p.pid);
      };
      if (closed) p.kill();
      return p;
    });

  /** Starts a fresh process in the slot: at once after a kill or a first crash, then with growing waits. */
  const restart = (slot: Slot, crash: string | undefined, pid?: number) => {
    const delayMs = slot.crashes <= 1 ? 0 : Math.min(restartCapMs, 500 * 2 ** (slot.crashes - 2));
    if (crash) log(`${crash}; restarting it`, { pid, restartInMs: delayMs, crashesInARow: slot.crashes });
    slot.restart = setTimeout(() => {
      slot.restart = undefined;
      if (closed) return;
      start(slot).then(release, (error: Error) => {
        slot.crashes++;
        restart(slot, `a worker process could not start (${error.message})`);
      });
    }, delayMs);
  };

  const acquire = (signal: AbortSignal) =>
    new Promise<WorkerProcess>((resolve, reject) => {
      signal.throwIfAborted();
      const p = idle.shift();
      if (p) return resolve(p);
      const waiter = (q: WorkerProcess) => {
        signal.removeEventListener("abort", onAbort);
        resolve(q);
      };
      const onAbort = () => {
        waiters.splice(waiters.indexOf(waiter), 1);
        reject(
          new Error(`${options.command} stopped before a worker process was free: ${String(signal.reason)}`),
        );
      };
      signal.addEventListener("abort", onAbort, { once: true });
      waiters.push(waiter);
    });

  /** Runs the task on `p`: settles on its result or error, on its end, or after a stop. */
  const runOn = (p: WorkerProcess, task: TaskContext, handler: string) =>
    new Promise<string | undefined>((resolve, reject) => {
      const id = String(++seq);
      const logger = options.logSink ? taskLogger(task, options.logSink, options.logLevel) : undefined;
      let stopped: string | undefined;
      let killTimer: ReturnType<typeof setTimeout> | undefined;
      const settle = () => {
        task.signal.removeEventListener("abort", onAbort);
        if (timeout) clearTimeout(timeout);
        if (killTimer) clearTimeout(killTimer);
        runs.delete(p);
      };
      // As the command runner: a stop asks the worker to end the task, then kills it after a grace.
      const stop = (why: string) => {
        if (stopped) return;
        stopped = why;
        p.send({ type: "cancel", id });
        killTimer = setTimeout(() => {
          killed.add(p);
          p.kill();
        }, options.cancelGraceMs ?? 2_000);
      };
      const onAbort = () => stop(`stopped: ${String(task.signal.reason)}`);
      task.signal.addEventListener("abort", onAbort, { once: true });
      const timeout =
        options.timeoutMs === undefined
          ? undefined
          : setTimeout(() => stop(`timed out after ${options.timeoutMs} ms`), options.timeoutMs);
      runs.set(p, {
        onMessage(m) {
          if (m.type === "log") {
            if (m.id === id) logger?.[m.level](m.message, ...(m.fields ? [m.fields] : []));
            return;
          }
          if ((m.type !== "result" && m.type !== "error") || m.id !== id) return;
          settle();
          const slot = slots.find((s) => s.process === p);
          if (slot) slot.crashes = 0;
          if (stopped) reject(new Error(`${options.command} ${stopped}`));
          else if (m.type === "result") resolve(m.output ?? undefined);
          else reject(failure(m.code, m.message));
          release(p);
        },
        onEnd(why) {
          settle();
          if (stopped) return reject(new Error(`${options.command} ${stopped}`));
          const tail = p.stderrTail();
          reject(
            new TaskFailure(
              "WORKER_CRASHED",
              `${options.command}: the worker process ${why} while running the task${tail ? `: ${tail}` : ""}`,
            ),
          );
        },
      });
      p.send({
        type: "run",
        id,
        handler,
        input: task.payload,
        attempt: task.attempt,
        deadline: options.timeoutMs === undefined ? null : Date.now() + options.timeoutMs,
        session: task.sessionId,
        index: task.index,
      });
    });

  return {
    async run(task) {
      const handler = task.handler ?? options.defaultTask;
      if (handler === undefined || !handlers.includes(handler)) {
        const known = handlers.join(", ") || "none";
        throw new Error(
          handler === undefined
            ? `the batch named no handler and this worker has no default task (known: ${known})`
            : `unknown task "${handler}" (this worker knows: ${known})`,
        );
      }
      return runOn(await acquire(task.signal), task, handler);
    },
    async ready() {
      const started = await Promise.allSettled(slots.map((slot) => start(slot)));
      const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
      if (failed) {
        closed = true;
        for (const s of started) if (s.status === "fulfilled") s.value.kill();
        throw failed.reason;
      }
      for (const s of started) if (s.status === "fulfilled") release(s.value);
      return handlers;
    },
    capacity: () => idle.length,
    pids: () => slots.flatMap((s) => (s.process ? [s.process.pid] : [])),
    async close() {
      closed = true;
      idle.length = 0;
      for (const slot of slots) {
        if (slot.restart) clearTimeout(slot.restart);
        slot.process?.kill();
      }
    },
  };
}
