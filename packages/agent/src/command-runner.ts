/**
 * Runs external programs as tasks: HTC workloads are often binaries. The task's payload goes
 * to the program's stdin (or a temporary file named in TESSERA_INPUT_FILE), its stdout is the
 * result, a non-zero exit is a failure carrying the end of stderr, and a timeout or an abort
 * (cancel, lost lease, shutdown) stops the program: SIGTERM, then SIGKILL after a grace.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Limits, type TaskRunner } from "@tessera/core";
import { forgetGroup, killGroup, watchGroup } from "@tessera/task";

/** Settings of a command runner. */
export interface CommandOptions {
  /** Program to run. */
  command: string;
  /** Its arguments. @default [] */
  args?: string[];
  /** How the payload reaches the program. @default "stdin" */
  input?: "stdin" | "file";
  /** Longest run before the program is stopped; the task then fails. @default unlimited */
  timeoutMs?: number;
  /** Time between SIGTERM and SIGKILL. @default 2000 */
  killGraceMs?: number;
  /** Working directory. @default the agent's */
  cwd?: string;
}

/** Bytes of stderr kept for the error message. */
const STDERR_TAIL = 2_000;

/** A TaskRunner that runs `options.command` once per task. */
export function commandRunner(options: CommandOptions): TaskRunner {
  return async (task) => {
    const dir = options.input === "file" ? await mkdtemp(join(tmpdir(), "tessera-task-")) : undefined;
    const inputFile = dir ? join(dir, "input") : undefined;
    if (inputFile) await writeFile(inputFile, task.payload ?? "");
    try {
      return await runProgram(options, task.payload, inputFile, task.signal, {
        TESSERA_TENANT: task.tenant,
        TESSERA_SESSION_ID: task.sessionId,
        TESSERA_TASK_ID: task.taskId,
        TESSERA_ATTEMPT: String(task.attempt),
        ...(inputFile ? { TESSERA_INPUT_FILE: inputFile } : {}),
      });
    } finally {
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  };
}

function runProgram(
  options: CommandOptions,
  payload: string | null,
  inputFile: string | undefined,
  signal: AbortSignal,
  env: Record<string, string>,
): Promise<string> {
  return new Promise((resolve, reject) => {
    signal.throwIfAborted();
    const child = spawn(options.command, options.args ?? [], {
      cwd: options.cwd,
      env: { ...process.env, ...env },
      stdio: ["pipe", "pipe", "pipe"],
      // Its own process group, so a stop reaches the programs it started too (a shell's
      // children would otherwise keep the output pipes open).
      detached: true,
    });
    const pid = child.pid;
    if (pid !== undefined) watchGroup(pid);
    const kill = (sig: NodeJS.Signals) => {
      if (pid !== undefined) killGroup(pid, sig);
    };
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = "";
    let stopped: string | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (why: string) => {
      if (stopped) return;
      stopped = why;
      kill("SIGTERM");
      killTimer = setTimeout(() => kill("SIGKILL"), options.killGraceMs ?? 2_000);
      killTimer.unref();
    };
    const onAbort = () => stop(`stopped: ${String(signal.reason)}`);
    signal.addEventListener("abort", onAbort, { once: true });
    const timeout =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => stop(`timed out after ${options.timeoutMs} ms`), options.timeoutMs);

    child.stdout.on("data", (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > Limits.MAX_TASK_BYTES) stop(`output exceeds ${Limits.MAX_TASK_BYTES} bytes`);
      else out.push(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      err = (err + chunk.toString("utf8")).slice(-STDERR_TAIL);
    });
    child.stdin.on("error", () => {}); // a program that does not read its input closes the pipe
    child.stdin.end(inputFile ? "" : (payload ?? ""));

    const finish = () => {
      signal.removeEventListener("abort", onAbort);
      if (timeout) clearTimeout(timeout);
      if (killTimer) clearTimeout(killTimer);
      // Whatever the program left running in the background ends with its task.
      kill("SIGKILL");
      if (pid !== undefined) forgetGroup(pid);
    };
    child.on("error", (error) => {
      finish();
      reject(new Error(`could not run ${options.command}: ${error.message}`));
    });
    // The task ends when its program does: what it left running in the background is killed
    // (it would otherwise hold the output pipes open, and run on unwatched).
    child.on("exit", () => kill("SIGKILL"));
    child.on("close", (code, sig) => {
      finish();
      if (stopped) reject(new Error(`${options.command} ${stopped}`));
      else if (code === 0) resolve(Buffer.concat(out).toString("utf8"));
      else {
        const how = code === null ? `was killed by ${sig}` : `exited with code ${code}`;
        reject(new Error(`${options.command} ${how}${err.trim() ? `: ${err.trim()}` : ""}`));
      }
    });
  });
}
