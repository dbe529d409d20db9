/**
 * The API's documents as the dashboard reads them. Fields that newer grids add are optional: a
 * page shows "not available on this grid" rather than breaking on an older one.
 */

/** Tasks of a session by state. */
export interface Counts {
  total: number;
  queued: number;
  running: number;
  succeeded: number;
  failed: number;
  cancelled: number;
}

/** A session in the list (`include=summary` adds its summary). */
export interface SessionRow {
  sessionId: string;
  state: "OPEN" | "CLOSED" | "CANCELLED";
  tags: Record<string, string>;
  createdAt: string;
  config?: { pool?: string; priority?: string };
  summary?: {
    counts: Counts;
    progress: number;
    settled: boolean;
    costDollars?: number;
    throughputPerSec?: number;
  };
}

/** One line of a session's cost. */
export interface CostLine {
  service: string;
  item: string;
  quantity: number;
  unit: string;
  dollars: number;
  priced: boolean;
}

/** `GET /sessions/{id}`. */
export interface SessionDetail extends SessionRow {
  counts: Counts;
  progress: number;
  settled: boolean;
  updatedAt: string;
  cost?: { dollars: number; lines: CostLine[]; prices?: { region: string; takenOn: string } };
}

/** `GET /sessions/{id}/failures`. */
export interface Failures {
  groups: Array<{ code: string; count: number; firstMessage: string; taskIds: string[] }>;
  totalFailed: number;
  /** False when built from a bounded sample of the tasks. */
  complete: boolean;
  /** Tasks charged more than one attempt, among those read. */
  retried?: number;
}

/** `GET /sessions/{id}/history`. */
export interface History {
  points: Array<{
    at: string;
    succeeded: number;
    failed: number;
    cancelled: number;
    queued: number;
    running: number;
  }>;
  intervalSec: number;
  /** False when older snapshots were left out (the chart starts later). */
  complete?: boolean;
}

/** A row of `GET /sessions/{id}/tasks`. */
export interface TaskRow {
  taskId: string;
  status: string;
  attempt: number;
  durationMs?: number;
  error?: { code: string; message: string };
  handler?: string;
  finishedAt?: string;
}

/** One attempt of a task. */
export interface Attempt {
  attempt: number;
  /** Absent for a running attempt (a lease keeps no start time). */
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
  worker?: string;
  error?: { code: string; message: string };
}

/** `GET /sessions/{id}/tasks/{taskId}`. */
export interface Task {
  sessionId: string;
  taskId: string;
  status: "QUEUED" | "LEASED" | "SUCCEEDED" | "FAILED" | "CANCELLED";
  attempt: number;
  maxAttempts: number;
  cancelRequested: boolean;
  pool: string;
  priority: string;
  handler?: string;
  result?: string;
  resultUrl?: string;
  error?: { code: string; message: string };
  createdAt: string;
  updatedAt: string;
  finishedAt?: string;
  attempts?: Attempt[];
  payloadPreview?: string;
  /** The preview is the payload's start only. */
  payloadTruncated?: boolean;
  payloadUrl?: string;
}

/** `GET /sessions/{id}/tasks`. */
export interface TaskList {
  tasks: TaskRow[];
  next?: string;
  /** False when `order=slowest` ranked a bounded sample. */
  complete?: boolean;
}

/** One task log line. */
export interface LogEntry {
  time: string;
  level: string;
  message: string;
  attempt: number;
  [field: string]: unknown;
}

/** `GET /sessions/{id}/logs`: a page, and where the next starts. */
export interface LogPage {
  entries: LogEntry[];
  next?: string;
  more?: boolean;
}

/** `GET /fleet`. */
export interface Fleet {
  pools: Array<{
    pool: string;
    /** When the fleet controller last read the pool. */
    at?: string;
    /** Waiting tickets (a ticket is one chunk of tasks) per priority. */
    queued: { high: number; normal: number; low: number };
    agents: { launching: number; busy: number; idle: number; draining: number };
    recentLaunches: Array<{
      at: string;
      count: number;
      instanceTypes?: Array<{ instanceType: string; market: string; count: number }>;
    }>;
    shortfalls: Array<{ at: string; message: string }>;
    costDollars?: number;
    /** The pool's billed agent time since `since`, priced (local processes are not). */
    cost?: {
      since: string;
      to: string;
      dollars: number;
      lines: Array<{
        instanceType: string;
        market: string;
        instanceSeconds: number;
        dollars: number;
        priced: boolean;
      }>;
      prices: { region: string; takenOn: string; source: string };
    };
  }>;
}
