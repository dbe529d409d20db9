/**
 * The HTTP API's bodies as the SDK sees them. Kept by hand so the SDK loads nothing of the
 * server; a type test (packages/functions/test/client-types.test.ts, checked by the type-check
 * step) checks them against the API's own schemas.
 */

export type SessionState = "OPEN" | "CLOSED" | "CANCELLED";
export type TaskStatus = "QUEUED" | "LEASED" | "SUCCEEDED" | "FAILED" | "CANCELLED";

/** Settings of a session; omitted ones take the grid's defaults. */
export interface SessionConfig {
  pool: string;
  priority: "high" | "normal" | "low";
  maxAttempts: number;
  leaseMs: number;
  chunkMaxTasks: number;
  chunkMaxBytes: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Longest a task may run; past it the run is stopped and the attempt fails with TIMEOUT. */
  taskTimeoutMs: number;
}

export interface SessionInfo {
  sessionId: string;
  state: SessionState;
  config: SessionConfig;
  tags: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

export interface TaskCounts {
  total: number;
  queued: number;
  running: number;
  succeeded: number;
  failed: number;
  cancelled: number;
}

export interface SessionStatus extends SessionInfo {
  counts: TaskCounts;
  /** Share of tasks finished, 0..1. */
  progress: number;
  /** Not open, and every task finished. */
  settled: boolean;
  /** What the session cost so far, at list price (absent from grids older than this SDK). */
  cost?: SessionCost;
}

/** A session's cost at list price: AWS requests, Lambda and agent time. */
export interface SessionCost {
  dollars: number;
  currency: "USD";
  /** AWS requests the session caused. */
  requests: number;
  lambdaGbSeconds: number;
  agentSeconds: number;
  lines: Array<{
    service: string;
    item: string;
    quantity: number;
    unit: "requests" | "invocations" | "GB-seconds" | "instance-seconds";
    dollars: number;
    priced: boolean;
  }>;
  /** The price table: region, when its prices were taken, where from. */
  prices: { region: string; takenOn: string; source: string };
}

export interface TaskError {
  code: string;
  message: string;
}

export interface TaskInfo {
  sessionId: string;
  taskId: string;
  status: TaskStatus;
  attempt: number;
  maxAttempts: number;
  cancelRequested: boolean;
  pool: string;
  priority: string;
  handler?: string | undefined;
  result?: string | undefined;
  resultUrl?: string | undefined;
  error?: TaskError | undefined;
  /** Of a failed task: the API path of what its code logged (`/sessions/{id}/logs?task=N`). */
  logsUrl?: string | undefined;
  leaseExpiresAt?: string | undefined;
  notBefore?: string | undefined;
  createdAt: string;
  updatedAt: string;
  finishedAt?: string | undefined;
}

export interface WireResult {
  taskId: string;
  status: "SUCCEEDED" | "FAILED" | "CANCELLED";
  attempt: number;
  result?: string | undefined;
  resultUrl?: string | undefined;
  error?: TaskError | undefined;
}

export interface ResultsPage {
  results: WireResult[];
  cursor: string;
  settled: boolean;
}

export interface SubmitResponse {
  created: number;
  existing: number;
  createdSpans: Array<{ start: number; count: number }>;
  chunks: number;
  tickets: number;
}

export interface UploadsResponse {
  uploads: Array<{ ref: string; url: string; method: "PUT"; expiresAt: string }>;
}

export interface CancelSessionResponse {
  session: SessionInfo;
  cancelledQueued: number;
  abortRequested: number;
  complete: boolean;
}

export interface SessionList {
  sessions: SessionInfo[];
  next?: string | undefined;
}
