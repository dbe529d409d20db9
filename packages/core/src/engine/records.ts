import { DEFAULT_SESSION_CONFIG, type ReaperTiming, type SessionConfig } from "../model/limits.ts";

/** The timeout of sessions created before timeouts were settable. */
const DEFAULT_TASK_TIMEOUT_MS = DEFAULT_SESSION_CONFIG.taskTimeoutMs;

import type { ChunkRecord, SessionKey, SessionRecord } from "../model/records.ts";
import { SessionState, SlotCode } from "../model/status.ts";
import type { PlannedChunk } from "./chunking.ts";
import { payloadBlobKey, uploadBlobKey } from "./keys.ts";

/** A new, open session record. */
export function newSessionRecord(
  key: SessionKey,
  config: SessionConfig,
  tags: Record<string, string>,
  now: number,
): SessionRecord {
  return {
    tenant: key.tenant,
    sessionId: key.sessionId,
    version: 1,
    state: SessionState.OPEN,
    config,
    tags,
    sealed: false,
    cancelEpoch: 0,
    createdAt: now,
    updatedAt: now,
  };
}

/** A new chunk record for a planned chunk: every task QUEUED, no lease, due for a ticket check. */
export function newChunkRecord(
  session: SessionRecord,
  planned: PlannedChunk,
  handler: string | undefined,
  now: number,
  timing: ReaperTiming,
  digest: string,
  timeoutMs: number = session.config.taskTimeoutMs ?? DEFAULT_TASK_TIMEOUT_MS,
): ChunkRecord {
  const key = { tenant: session.tenant, sessionId: session.sessionId, start: planned.start };
  const count = planned.payloads.length;
  const c = session.config;
  return {
    ...key,
    version: 1,
    count,
    slots: SlotCode.QUEUED.repeat(count),
    attempts: new Array<number>(count).fill(0),
    fence: 0,
    notBefore: now,
    due: now + timing.ticketGraceMs,
    redrives: 0,
    maxAttempts: c.maxAttempts,
    leaseMs: c.leaseMs,
    backoffBaseMs: c.backoffBaseMs,
    backoffMaxMs: c.backoffMaxMs,
    pool: c.pool,
    priority: c.priority,
    handler,
    timeoutMs,
    digest,
    payloadKey: planned.ref === undefined ? payloadBlobKey(key, digest) : uploadBlobKey(key, planned.ref),
    payloadRef: planned.ref,
    payloadBytes: planned.bytes,
    commits: [],
    createdAt: now,
    updatedAt: now,
  };
}
