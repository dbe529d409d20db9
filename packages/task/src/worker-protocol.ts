/**
 * The warm-worker protocol, version 1 (docs/worker-protocol.md): newline-delimited JSON on a
 * channel of its own — fd 3 carries the agent's messages to the worker, fd 4 the worker's to the
 * agent — so that whatever user code prints on stdout or stderr cannot corrupt it. This module
 * holds the message shapes and their framing; worker-process.ts speaks it.
 */
import { Limits } from "@tessera/core";
import { isLogLevel, type LogLevel } from "./task-log.ts";

/** The protocol version this agent speaks. */
export const PROTOCOL_VERSION = 1;

/** The worker's end of the channel: it reads fd 3 and writes fd 4 (TESSERA_WORKER_FDS). */
export const WORKER_FDS = "3,4";

/** Agent → worker: run one task. */
export interface RunMessage {
  type: "run";
  id: string;
  handler: string;
  /** The task's payload as submitted (JSON text for defineTask-style tasks), or null. */
  input: string | null;
  attempt: number;
  /** Epoch ms after which the agent stops the run, or null when it has no timeout of its own. */
  deadline: number | null;
  session: string;
  index: number;
}

/** Agent → worker: stop the run `id` (cooperatively; the agent kills the process after a grace). */
export interface CancelMessage {
  type: "cancel";
  id: string;
}

/** Worker → agent messages, validated. */
export type WorkerMessage =
  | { type: "ready"; protocol: number; handlers: string[] }
  | { type: "result"; id: string; output: string | null }
  | { type: "error"; id: string; code?: string | undefined; message: string }
  | { type: "log"; id: string; level: LogLevel; message: string; fields?: Record<string, unknown> };

/**
 * Longest frame a worker may send: a result of the largest size whose every character needs an
 * escape (`"` as `\"`), with room for the other fields. Beyond it the worker breaks the protocol.
 */
export const MAX_FRAME_BYTES = 2 * Limits.MAX_TASK_BYTES + 65_536;

/** One frame: the message as a JSON line (JSON.stringify never writes a raw newline). */
export function encodeFrame(message: RunMessage | CancelMessage): string {
  return `${JSON.stringify(message)}\n`;
}

/** A frame that breaks the protocol: the worker that sent it is treated as crashed. */
export class FrameError extends Error {
  override name = "FrameError";
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Parses one frame. Unknown message types give undefined (ignored: a newer worker may say more);
 * a known type with a wrong shape, or text that is not JSON, throws FrameError.
 */
export function parseFrame(line: string): WorkerMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new FrameError(`not a JSON frame: ${line.slice(0, 80)}`);
  }
  if (!isObject(value)) throw new FrameError("a frame must be a JSON object");
  const bad = (what: string): never => {
    throw new FrameError(`${String(value.type)} frame: ${what}`);
  };
  switch (value.type) {
    case "ready":
      if (typeof value.protocol !== "number") bad("protocol must be a number");
      if (!Array.isArray(value.handlers) || !value.handlers.every((h) => typeof h === "string"))
        bad("handlers must be a list of names");
      return { type: "ready", protocol: value.protocol as number, handlers: value.handlers as string[] };
    case "result":
      if (typeof value.id !== "string") bad("id must be a string");
      if (value.output !== null && value.output !== undefined && typeof value.output !== "string")
        bad("output must be a string or null");
      return { type: "result", id: value.id as string, output: (value.output as string | undefined) ?? null };
    case "error":
      if (typeof value.id !== "string") bad("id must be a string");
      return {
        type: "error",
        id: value.id as string,
        code: typeof value.code === "string" ? value.code : undefined,
        message: typeof value.message === "string" ? value.message : "the worker gave no message",
      };
    case "log":
      if (typeof value.id !== "string") bad("id must be a string");
      return {
        type: "log",
        id: value.id as string,
        level: isLogLevel(value.level) ? value.level : "info",
        message: String(value.message ?? ""),
        ...(isObject(value.fields) ? { fields: value.fields } : {}),
      };
    default:
      return undefined;
  }
}

/**
 * Splits a byte stream into frames: `push` returns the complete lines received so far; a line
 * longer than `maxBytes` throws FrameError (a worker must not make the agent buffer without end).
 */
export function frameSplitter(maxBytes = MAX_FRAME_BYTES): { push(chunk: Buffer): string[] } {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  return {
    push(chunk) {
      const lines: string[] = [];
      let from = 0;
      for (let nl = chunk.indexOf(10, from); nl !== -1; nl = chunk.indexOf(10, from)) {
        pending.push(chunk.subarray(from, nl));
        lines.push(Buffer.concat(pending).toString("utf8"));
        pending = [];
        pendingBytes = 0;
        from = nl + 1;
      }
      if (from < chunk.length) {
        pending.push(chunk.subarray(from));
        pendingBytes += chunk.length - from;
      }
      if (pendingBytes > maxBytes) throw new FrameError(`a frame exceeds ${maxBytes} bytes`);
      return lines.filter((l) => l.trim() !== "");
    },
  };
}
