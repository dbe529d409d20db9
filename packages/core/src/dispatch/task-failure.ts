/**
 * A runner's failure that carries its own code, for failures the dispatcher cannot tell from
 * the abort reason: an agent's worker process that died under its task fails it WORKER_CRASHED,
 * not HANDLER_ERROR, so that an operator sees at a glance that the process, not the handler's
 * own error path, ended it. It is still a normal failure, retried per maxAttempts.
 */

/** Codes a runner may name: upper-case words, as the dispatcher's own. */
const CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

/** A failure of a task run with a stable code (see {@link taskFailureCode}). */
export class TaskFailure extends Error {
  override name = "TaskFailure";
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    if (!CODE.test(code)) throw new TypeError(`task failure code "${code}" must be A-Z, 0-9 and _`);
    this.code = code;
  }
}

/**
 * The code of a {@link TaskFailure} (checked by name and shape, so that a duplicated copy of
 * this package still agrees), or undefined for any other error.
 */
export function taskFailureCode(error: unknown): string | undefined {
  const e = error as { name?: unknown; code?: unknown } | null;
  if (typeof e !== "object" || e === null || e.name !== "TaskFailure") return undefined;
  return typeof e.code === "string" && CODE.test(e.code) ? e.code : undefined;
}
