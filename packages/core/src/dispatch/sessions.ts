import { newSessionRecord } from "../engine/records.ts";
import { NotFoundError, SessionConflictError, ValidationError } from "../errors.ts";
import { assertId } from "../model/ids.ts";
import { DEFAULT_SESSION_CONFIG, type SessionConfig } from "../model/limits.ts";
import type { SessionKey, SessionRecord } from "../model/records.ts";
import { CreateSessionInput, parseInput } from "../model/schemas.ts";
import { SessionState } from "../model/status.ts";
import { mapLimit } from "../util.ts";
import { cancelChunksOfSession } from "./cancel-walk.ts";
import type { GridPorts } from "./grid-ports.ts";

/** Result of creating a session: `created` is false when it already existed (an idempotent retry). */
export interface CreatedSession {
  session: SessionRecord;
  created: boolean;
}

/**
 * Creates a session with validated settings. Idempotent: creating an existing session id
 * returns the stored session unchanged.
 */
export async function createSession(
  ports: GridPorts,
  tenant: string,
  input: unknown,
): Promise<CreatedSession> {
  assertId("tenant", tenant);
  const parsed = parseInput(CreateSessionInput, input);
  const config: SessionConfig = { ...DEFAULT_SESSION_CONFIG, ...parsed.config };
  if (!ports.grid.pools.includes(config.pool)) {
    throw new ValidationError(
      "config.pool",
      `unknown pool "${config.pool}"; this grid has: ${ports.grid.pools.join(", ")}`,
    );
  }
  if (config.backoffMaxMs < config.backoffBaseMs) {
    throw new ValidationError("config.backoffMaxMs", "must not be smaller than backoffBaseMs");
  }
  const key = { tenant, sessionId: parsed.sessionId };
  const record = newSessionRecord(key, config, parsed.tags ?? {}, ports.clock.now());
  if ((await ports.store.createSession(record)) === "created") return { session: record, created: true };
  const existing = await ports.store.getSession(key);
  if (!existing) throw new NotFoundError("session", `session ${key.sessionId} vanished while being created`);
  // The same create again (a retry, a resumed submit) is answered with the stored session; one
  // asking for other settings is refused, not silently given the old ones.
  for (const [name, value] of Object.entries(parsed.config ?? {})) {
    const stored = existing.config[name as keyof SessionConfig];
    if (value !== undefined && stored !== value)
      throw new SessionConflictError(
        `config.${name}`,
        `session ${key.sessionId} already exists with ${name} ${JSON.stringify(stored)}, not ${JSON.stringify(value)}; a session's settings cannot change (use another session id)`,
      );
  }
  // No tags (or `{}`) asks for nothing.
  if (
    parsed.tags !== undefined &&
    Object.keys(parsed.tags).length > 0 &&
    !sameTags(parsed.tags, existing.tags)
  )
    throw new SessionConflictError(
      "tags",
      `session ${key.sessionId} already exists with tags ${JSON.stringify(existing.tags)}; a session's tags cannot change (use another session id)`,
    );
  return { session: existing, created: false };
}

function sameTags(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => b[k] === a[k]);
}

/** Reads a session; another tenant's session does not exist for the caller. */
export async function getSession(ports: GridPorts, key: SessionKey): Promise<SessionRecord> {
  assertId("tenant", key.tenant);
  assertId("sessionId", key.sessionId);
  const session = await ports.store.getSession(key);
  if (!session) throw new NotFoundError("session", `session ${key.sessionId} not found`);
  return session;
}

/** Moves an open session to `state` (retrying version conflicts); a no-op if it already left OPEN. */
async function leaveOpen(ports: GridPorts, key: SessionKey, state: SessionState): Promise<SessionRecord> {
  for (;;) {
    const session = await getSession(ports, key);
    if (session.state === state || session.state === SessionState.CANCELLED) return session;
    const next = { ...session, state, version: session.version + 1, updatedAt: ports.clock.now() };
    if ((await ports.store.writeSession(next, session.version)) === "ok") return next;
  }
}

/** Seals written at once. */
const SEAL_CONCURRENCY = 16;

/**
 * A submit that read the session as OPEN may still be inserting this long after it left OPEN
 * (the API's integration timeout is 30 s). Readers rely on it only when a close or cancel died
 * before it sealed the session's groups.
 */
export const CLOSE_GRACE_MS = 60_000;

/** Most groups one call seals: a huge session is sealed over several calls (the reaper's). */
export const SEAL_GROUPS_PER_CALL = 4_096;

/**
 * Seals the groups of a session that left OPEN, then marks the session sealed: from then on no
 * insert can land (a group is created only while the session is OPEN, and inserts into a sealed
 * group are refused), so readers may call it settled as soon as its tasks are terminal.
 * One call seals at most SEAL_GROUPS_PER_CALL groups and records how far it got (`sealCursor`);
 * the reaper's passes carry on. Idempotent, and finished by the reaper when a close or cancel
 * died half-way.
 */
export async function sealSession(ports: GridPorts, session: SessionRecord): Promise<SessionRecord> {
  if (session.sealed || session.state === SessionState.OPEN) return session;
  const page = await ports.store.listGroups(session, session.sealCursor, SEAL_GROUPS_PER_CALL);
  await mapLimit(page.groups, SEAL_CONCURRENCY, (g) => ports.store.sealGroup(session, g));
  // A page exactly as long as asked may be the last: look one group further before saying so.
  const finished =
    page.next === undefined || (await ports.store.listGroups(session, page.next, 1)).groups.length === 0;
  for (let current = session; ; current = await getSession(ports, session)) {
    // Sealed, or another call moved on meanwhile: never move the cursor back.
    if (current.sealed || current.sealCursor !== session.sealCursor) return current;
    // The close time (`updatedAt`) is kept: sealing is not a change of state.
    const next = finished
      ? { ...current, sealed: true, sealCursor: undefined, version: current.version + 1 }
      : { ...current, sealCursor: page.next, version: current.version + 1 };
    if ((await ports.store.writeSession(next, current.version)) === "ok") return next;
  }
}

/**
 * True when no task can be added to the session any more: it left OPEN and its groups are
 * sealed (or, after a close that died before sealing, long enough ago that no submit is left).
 */
export function isSessionSealed(session: SessionRecord, now: number): boolean {
  if (session.state === SessionState.OPEN) return false;
  return session.sealed || now - session.updatedAt >= CLOSE_GRACE_MS;
}

/** Closes a session: it accepts no more tasks, and its existing tasks finish. */
export async function closeSession(ports: GridPorts, key: SessionKey): Promise<SessionRecord> {
  return sealSession(ports, await leaveOpen(ports, key, SessionState.CLOSED));
}

/** Most groups a cancel call walks; the reaper's passes walk the rest. */
export const CANCEL_GROUPS_PER_CALL = 512;

/**
 * Tells the workers of a session that some of its running tasks were marked for cancellation:
 * their cancel watch sees the epoch move within a second and re-reads their chunks.
 */
export async function bumpCancelEpoch(ports: GridPorts, key: SessionKey): Promise<void> {
  for (;;) {
    const session = await getSession(ports, key);
    // The close time (`updatedAt`) is kept: this is not a change of state.
    const next = { ...session, cancelEpoch: session.cancelEpoch + 1, version: session.version + 1 };
    if ((await ports.store.writeSession(next, session.version)) === "ok") return;
  }
}

/** Report of a session cancel. */
export interface CancelReport {
  session: SessionRecord;
  /** Queued tasks now CANCELLED. */
  cancelledQueued: number;
  /** Leased tasks whose workers will abort them at their next heartbeat. */
  abortRequested: number;
  /** False when the walk over the chunks stopped early; the reaper finishes it. */
  complete: boolean;
}

/**
 * Cancels a session. From the moment the session record says CANCELLED no claim starts a task
 * of it; the walk then cancels queued tasks in their records and marks leased ones so their
 * workers abort them. Finished tasks keep their results.
 */
export async function cancelSession(
  ports: GridPorts,
  key: SessionKey,
  options: { maxChunks?: number } = {},
): Promise<CancelReport> {
  const session = await sealSession(ports, await leaveOpen(ports, key, SessionState.CANCELLED));
  const walk = await cancelChunksOfSession(ports, session, {
    maxChunks: options.maxChunks,
    maxGroups: CANCEL_GROUPS_PER_CALL,
  });
  return { session, ...walk };
}
