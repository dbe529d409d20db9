/** Maps core records to API response bodies (times as ISO strings, ids as strings). */
import {
  type AttemptView,
  type GridPorts,
  Limits,
  type SessionRecord,
  type TaskDetail,
  type TaskOutcome,
} from "@tessera/core";
import type { z } from "zod";
import type { SessionSchema, TaskAttemptSchema, TaskResultSchema, TaskSchema } from "./schemas.ts";

const iso = (ms: number) => new Date(ms).toISOString();
const isoOpt = (ms: number | undefined) => (ms === undefined ? undefined : iso(ms));

export function sessionView(s: SessionRecord): z.input<typeof SessionSchema> {
  return {
    sessionId: s.sessionId,
    state: s.state,
    config: s.config,
    tags: s.tags,
    createdAt: iso(s.createdAt),
    updatedAt: iso(s.updatedAt),
  };
}

/** Where a task's log entries are read (the logs route, relative to the API's base URL). */
export function logsPath(sessionId: string, taskId: string): string {
  return `/sessions/${encodeURIComponent(sessionId)}/logs?task=${encodeURIComponent(taskId)}`;
}

/** A download link for a large result, or nothing. */
function resultUrl(ports: GridPorts, ref: string | undefined): Promise<string | undefined> {
  return ref === undefined ? Promise.resolve(undefined) : ports.blobs.link(ref, "GET", Limits.LINK_SECONDS);
}

function attemptView(a: AttemptView): z.input<typeof TaskAttemptSchema> {
  return {
    attempt: a.attempt,
    startedAt: isoOpt(a.startedAt),
    endedAt: isoOpt(a.endedAt),
    durationMs: a.durationMs,
    worker: a.worker,
    error: a.error,
  };
}

export async function taskView(ports: GridPorts, t: TaskDetail): Promise<z.input<typeof TaskSchema>> {
  return {
    sessionId: t.sessionId,
    taskId: t.taskId,
    status: t.status,
    attempt: t.attempt,
    maxAttempts: t.maxAttempts,
    cancelRequested: t.cancelRequested,
    pool: t.pool,
    priority: t.priority,
    handler: t.handler,
    result: t.result,
    resultUrl: await resultUrl(ports, t.resultRef),
    error: t.error,
    logsUrl: t.status === "FAILED" ? logsPath(t.sessionId, t.taskId) : undefined,
    leaseExpiresAt: isoOpt(t.leaseExpiresAt),
    notBefore: isoOpt(t.notBefore),
    createdAt: iso(t.createdAt),
    updatedAt: iso(t.updatedAt),
    finishedAt: isoOpt(t.finishedAt),
    attempts: t.attempts.map(attemptView),
  };
}

export async function resultView(
  ports: GridPorts,
  o: TaskOutcome,
): Promise<z.input<typeof TaskResultSchema>> {
  return {
    taskId: String(o.index),
    status: o.status,
    attempt: o.attempt,
    result: o.result,
    resultUrl: await resultUrl(ports, o.resultRef),
    error: o.error,
  };
}
