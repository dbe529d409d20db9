import type { TaskError } from "./records.ts";
import type { TaskStatus } from "./status.ts";

/** One task as a submitter describes it. */
export interface TaskInput {
  /** Position of the task in its session: the deterministic task id. */
  index: number;
  /** The task's input, usually JSON. */
  payload?: string | undefined;
  /** Instead of `payload`: the id of an upload holding it (large inputs go to S3 directly). */
  payloadRef?: string | undefined;
}

/** A task as read back by id: derived from its chunk record and completion entry. */
export interface TaskView {
  tenant: string;
  sessionId: string;
  /** Task id: the decimal index. */
  taskId: string;
  index: number;
  status: TaskStatus;
  /** Attempts started so far. */
  attempt: number;
  maxAttempts: number;
  owner?: string | undefined;
  leaseExpiresAt?: number | undefined;
  notBefore?: number | undefined;
  cancelRequested: boolean;
  pool: string;
  priority: string;
  handler?: string | undefined;
  result?: string | undefined;
  /** Blob key of a result too large to travel inline (see TaskOutcome.resultRef). */
  resultRef?: string | undefined;
  error?: TaskError | undefined;
  createdAt: number;
  updatedAt: number;
  finishedAt?: number | undefined;
}

/** One run of a task, as far as the records keep it (see taskAttempts). */
export interface AttemptView {
  attempt: number;
  /** Finished runs: the end less the run's duration (the worker's clock). */
  startedAt?: number | undefined;
  /** When the run's outcome was committed. */
  endedAt?: number | undefined;
  durationMs?: number | undefined;
  /** Lease owner (worker or agent id); absent for a reaper's write. */
  worker?: string | undefined;
  error?: TaskError | undefined;
}

/** A task read by id, with the runs its records keep. */
export interface TaskDetail extends TaskView {
  attempts: AttemptView[];
}

/** Formats a task index as its id. */
export function taskIdOf(index: number): string {
  return String(index);
}
