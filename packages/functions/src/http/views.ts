/** Maps core records to API response bodies (times as ISO strings, ids as strings). */
import { type GridPorts, Limits, type SessionRecord, type TaskOutcome, type TaskView } from "@tessera/core";
import type { z } from "zod";
import type { SessionSchema, TaskResultSchema, TaskSchema } from "./schemas.ts";

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

/** A download link for a large result, or nothing. */
function resultUrl(ports: GridPorts, ref: string | undefined): Promise<string | undefined> {
  return ref === undefined ? Promise.resolve(undefined) : ports.blobs.link(ref, "GET", Limits.LINK_SECONDS);
}

export async function taskView(ports: GridPorts, t: TaskView): Promise<z.input<typeof TaskSchema>> {
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
    leaseExpiresAt: isoOpt(t.leaseExpiresAt),
    notBefore: isoOpt(t.notBefore),
    createdAt: iso(t.createdAt),
    updatedAt: iso(t.updatedAt),
    finishedAt: isoOpt(t.finishedAt),
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
