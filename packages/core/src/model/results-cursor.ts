/**
 * The results cursor: where a reader of a session's completion entries stands, carried by the
 * client between calls so the server keeps no reader state. Per key group it holds the newest
 * commit time read and the entries read within the overlap window (re-read to catch commits
 * that landed after a later-stamped one, and skipped by id); groups whose every task is
 * delivered are listed as done and never read again.
 */
import { z } from "zod";
import { CursorExpiredError, ValidationError } from "../errors.ts";

/** Position of a reader in one key group. */
export interface GroupPosition {
  /** Newest commit time read (from entry sort keys). */
  horizon: number;
  /** Ids of entries read whose commit time is within the overlap window below `horizon`. */
  seen: Map<string, number>;
}

/** A reader's position in a session. */
export interface ResultsCursor {
  sessionId: string;
  issuedAt: number;
  groups: Map<number, GroupPosition>;
  /** Groups fully delivered. */
  done: Set<number>;
}

/** How long a cursor may be resumed after it was issued. */
export const CURSOR_MAX_AGE_MS = 7 * 24 * 60 * 60_000;
/** Most entry ids kept per group; beyond it the oldest may be delivered again (at-least-once). */
export const MAX_SEEN_PER_GROUP = 256;

const Wire = z.object({
  v: z.literal(1),
  s: z.string(),
  i: z.number().int().nonnegative(),
  g: z.record(
    z.string().regex(/^\d+$/),
    z.tuple([z.number().int().min(-1), z.array(z.tuple([z.string(), z.number().int()]))]),
  ),
  d: z.array(z.number().int().nonnegative()),
});

/** A cursor at the start of a session. */
export function startCursor(sessionId: string, now: number): ResultsCursor {
  return { sessionId, issuedAt: now, groups: new Map(), done: new Set() };
}

/** Forgets entries older than the overlap window, keeping at most MAX_SEEN_PER_GROUP. */
export function pruneSeen(position: GroupPosition, overlapMs: number): void {
  const floor = position.horizon - overlapMs;
  for (const [id, at] of position.seen) if (at < floor) position.seen.delete(id);
  if (position.seen.size > MAX_SEEN_PER_GROUP) {
    const keep = [...position.seen].sort((a, b) => b[1] - a[1]).slice(0, MAX_SEEN_PER_GROUP);
    position.seen = new Map(keep);
  }
}

/** Serializes a cursor to an opaque URL-safe token. */
export function encodeCursor(cursor: ResultsCursor, now: number): string {
  const wire: z.infer<typeof Wire> = {
    v: 1,
    s: cursor.sessionId,
    i: now,
    g: Object.fromEntries(
      [...cursor.groups].map(([g, p]) => [
        String(g),
        [p.horizon, [...p.seen]] as [number, [string, number][]],
      ]),
    ),
    d: [...cursor.done].sort((a, b) => a - b),
  };
  return Buffer.from(JSON.stringify(wire)).toString("base64url");
}

/**
 * Parses a cursor issued for `sessionId`. A malformed token or another session's cursor is a
 * ValidationError naming `field`; one older than CURSOR_MAX_AGE_MS is a CursorExpiredError.
 */
export function decodeCursor(token: string, sessionId: string, now: number, field = "cursor"): ResultsCursor {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw new ValidationError(field, "is not a cursor issued by this API");
  }
  const parsed = Wire.safeParse(raw);
  if (!parsed.success) throw new ValidationError(field, "is not a cursor issued by this API");
  const wire = parsed.data;
  if (wire.s !== sessionId) throw new ValidationError(field, `was issued for another session`);
  if (now - wire.i > CURSOR_MAX_AGE_MS) throw new CursorExpiredError(now - wire.i, CURSOR_MAX_AGE_MS);
  return {
    sessionId,
    issuedAt: wire.i,
    groups: new Map(
      Object.entries(wire.g).map(([g, [horizon, seen]]) => [Number(g), { horizon, seen: new Map(seen) }]),
    ),
    done: new Set(wire.d),
  };
}
