/**
 * One warm worker process: spawned in its own process group with the protocol's channel on
 * fds 3 and 4 (worker-protocol.ts), started once its `ready` arrives, ended by an exit, a bad
 * frame or {@link WorkerProcess.kill}. Its stdout and stderr are the user's: they go to the
 * agent's log line by line, and the end of stderr is kept to say why a process died.
 */
import { type ChildProcess, spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { forgetGroup, killGroup, watchGroup } from "./process-groups.ts";
import {
  type CancelMessage,
  encodeFrame,
  FrameError,
  frameSplitter,
  PROTOCOL_VERSION,
  parseFrame,
  type RunMessage,
  WORKER_FDS,
  type WorkerMessage,
} from "./worker-protocol.ts";

/** How to start a worker process. */
export interface WorkerProcessOptions {
  command: string;
  args: string[];
  cwd?: string | undefined;
  /** Added to the agent's environment. */
  env?: Record<string, string> | undefined;
  /** Longest wait for the `ready` handshake. */
  readyTimeoutMs: number;
  /** A line the process wrote on its stdout or stderr. */
  onOutput(pid: number, stream: "stdout" | "stderr", line: string): void;
}

/** Bytes of stderr kept to explain a crash. */
const STDERR_TAIL = 2_000;

/** Calls `onLine` for each complete line of a stream. */
function eachLine(stream: Readable, onLine: (line: string) => void): void {
  let rest = "";
  stream.setEncoding("utf8");
  stream.on("data", (text: string) => {
    const lines = (rest + text).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) onLine(line);
  });
  stream.on("end", () => {
    if (rest) onLine(rest);
  });
}

/** A running worker process that has said `ready`. */
export class WorkerProcess {
  readonly pid: number;
  readonly handlers: string[];
  /** Every message after `ready` (the pool routes them to the run they name). */
  onMessage: (message: WorkerMessage) => void = () => {};
  /** Called once when the process is over, with why (for the log and its task's error). */
  onEnd: (why: string) => void = () => {};
  #ended: string | undefined;
  readonly #child: ChildProcess;
  readonly #toWorker: Writable;
  #stderrTail = "";

  private constructor(child: ChildProcess, pid: number, handlers: string[]) {
    this.#child = child;
    this.pid = pid;
    this.handlers = handlers;
    this.#toWorker = child.stdio[3] as Writable;
  }

  /** Why the process ended, or undefined while it runs. */
  get ended(): string | undefined {
    return this.#ended;
  }

  /** Spawns a worker and waits for its `ready`; rejects (the process killed) if it does not come. */
  static start(options: WorkerProcessOptions): Promise<WorkerProcess> {
    const child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env, TESSERA_WORKER_FDS: WORKER_FDS },
      stdio: ["ignore", "pipe", "pipe", "pipe", "pipe"],
      detached: true,
    });
    return new Promise((resolve, reject) => {
      let worker: WorkerProcess | undefined;
      const pid = child.pid;
      let stderrTail = "";
      const end = (why: string) => {
        clearTimeout(readyTimer);
        if (pid !== undefined) {
          killGroup(pid, "SIGKILL");
          forgetGroup(pid);
        }
        if (!worker) {
          // One line: its last line of stderr (the whole of it is in the agent's log already).
          const last = stderrTail.trim().split("\n").pop();
          reject(new Error(`${options.command}: ${why}${last ? `: ${last}` : ""}`));
        } else if (worker.#ended === undefined) {
          worker.#ended = why;
          worker.onEnd(why);
        }
      };
      const readyTimer = setTimeout(
        () => end(`no ready message within ${options.readyTimeoutMs} ms of its start`),
        options.readyTimeoutMs,
      );
      child.on("error", (error) => end(`could not start: ${error.message}`));
      if (pid === undefined) return; // the error event follows
      watchGroup(pid);
      for (const stream of ["stdout", "stderr"] as const) {
        eachLine(child[stream] as Readable, (line) => {
          if (stream === "stderr") {
            stderrTail = `${stderrTail}${line}\n`.slice(-STDERR_TAIL);
            if (worker) worker.#stderrTail = stderrTail;
          }
          options.onOutput(pid, stream, line);
        });
      }
      (child.stdio[3] as Writable).on("error", () => {}); // a dead worker's channel: its exit says why
      const splitter = frameSplitter();
      (child.stdio[4] as Readable).on("data", (chunk: Buffer) => {
        let messages: WorkerMessage[];
        try {
          messages = splitter.push(chunk).flatMap((line) => parseFrame(line) ?? []);
        } catch (error) {
          if (!(error instanceof FrameError)) throw error;
          end(`broke the protocol (${error.message})`);
          return;
        }
        for (const message of messages) {
          if (worker) worker.onMessage(message);
          else if (message.type === "ready") {
            if (message.protocol !== PROTOCOL_VERSION) {
              end(`speaks protocol ${message.protocol}; this agent speaks ${PROTOCOL_VERSION}`);
              return;
            }
            clearTimeout(readyTimer);
            worker = new WorkerProcess(child, pid, message.handlers);
            worker.#stderrTail = stderrTail;
            resolve(worker);
          }
        }
      });
      // What it left running dies with it (it would hold the pipes open); its end is reported
      // once the pipes are drained, so that the last lines of stderr explain it.
      child.on("exit", () => killGroup(pid, "SIGKILL"));
      child.on("close", (code, signal) =>
        end(code === null ? `was killed by ${signal}` : `exited with code ${code}`),
      );
    });
  }

  /** Sends a message (dropped if the process is over: its end is reported by onEnd). */
  send(message: RunMessage | CancelMessage): void {
    if (this.#ended === undefined) this.#toWorker.write(encodeFrame(message));
  }

  /** The end of the process' stderr, to explain its crash. */
  stderrTail(): string {
    return this.#stderrTail.trim();
  }

  /** Kills the process group; onEnd follows when it has exited. */
  kill(): void {
    killGroup(this.pid, "SIGKILL");
    this.#child.kill("SIGKILL");
  }
}
