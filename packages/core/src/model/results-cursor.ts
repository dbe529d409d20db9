/**
 * The results cursor: where a reader of a session's completion entries stands, carried by the
 * client between calls so the server keeps no reader state. Per key group it holds the newest
 * commit time read and the ids of the entries read within the overlap window (re-read to catch
 * commits that landed after a later-stamped one, and skipped by id); groups whose every task
 * was delivered are marked done and never read again.
 *
 * It travels in a query string, so it is compact: an entry id is a number (the chunk's offset in
 * its group, plus its commit sequence times the group size), a group's ids are sorted, delta-
 * and varint-encoded (about one byte per entry), and the done groups are a bitmap.
 */
import { z } from "zod";
import { CursorExpiredError, ValidationError } from "../errors.ts";
import { Limits } from "./limits.ts";

/** Position of a reader in one key group. */
export interface GroupPosition {
  /** Newest commit time read (from entry sort keys); -1 before the first entry. */
  horizon: number;
  /** Ids (see {@link entryNumber}) of entries read within the overlap window below `horizon`. */
  seen: Set<number>;
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
export const MAX_SEEN_PER_GROUP = 512;

/** The id of a completion entry within its group: stable across re-publication. */
export function entryNumber(chunkStart: number, seq: number): number {
  return seq * Limits.GROUP_SIZE + (chunkStart % Limits.GROUP_SIZE);
}

const Wire = z.object({
  v: z.literal(2),
  s: z.string(),
  i: z.number().int().nonnegative(),
  g: z.record(z.string().regex(/^\d+$/), z.tuple([z.number().int().min(-1), z.string()])),
  d: z.string(),
});

/** A cursor at the start of a session. */
export function startCursor(sessionId: string, now: number): ResultsCursor {
  return { sessionId, issuedAt: now, groups: new Map(), done: new Set() };
}

function packIds(ids: Iterable<number>): string {
  const sorted = [...ids].sort((a, b) => a - b);
  const bytes: number[] = [];
  let previous = 0;
  for (const id of sorted) {
    let delta = id - previous;
    previous = id;
    do {
      const low = delta & 0x7f;
      delta = Math.floor(delta / 128);
      bytes.push(delta > 0 ? low | 0x80 : low);
    } while (delta > 0);
  }
  return Buffer.from(bytes).toString("base64url");
}

function unpackIds(text: string): Set<number> {
  const bytes = Buffer.from(text, "base64url");
  const ids = new Set<number>();
  let value = 0;
  let scale = 1;
  let previous = 0;
  for (const b of bytes) {
    value += (b & 0x7f) * scale;
    if (b & 0x80) {
      scale *= 128;
      if (scale > 2 ** 35) throw new Error("varint too long");
      continue;
    }
    previous += value;
    ids.add(previous);
    value = 0;
    scale = 1;
  }
  if (scale !== 1) throw new Error("truncated varint");
  return ids;
}

function packBits(values: Iterable<number>): string {
  const list = [...values];
  const bytes = Buffer.alloc(list.length === 0 ? 0 : Math.floor(Math.max(...list) / 8) + 1);
  for (const v of list) bytes[v >> 3]! |= 1 << (v & 7);
  return bytes.toString("base64url");
}

function unpackBits(text: string): Set<number> {
  const out = new Set<number>();
  Buffer.from(text, "base64url").forEach((byte, i) => {
    for (let bit = 0; bit < 8; bit++) if (byte & (1 << bit)) out.add(i * 8 + bit);
  });
  return out;
}

/** Serializes a cursor to an opaque URL-safe token. */
export function encodeCursor(cursor: ResultsCursor, now: number): string {
  const wire: z.infer<typeof Wire> = {
    v: 2,
    s: cursor.sessionId,
    i: now,
    g: Object.fromEntries([...cursor.groups].map(([g, p]) => [String(g), [p.horizon, packIds(p.seen)]])),
    d: packBits(cursor.done),
  };
  return Buffer.from(JSON.stringify(wire)).toString("base64url");
}

/**
 * Parses a cursor issued for `sessionId`. A malformed token or another session's cursor is a
 * ValidationError naming `field`; one older than CURSOR_MAX_AGE_MS is a CursorExpiredError.
 */
export function decodeCursor(token: string, sessionId: string, now: number, field = "cursor"): ResultsCursor {
  const invalid = () =>
    new ValidationError(field, "is not a cursor issued by this API (start again without one)");
  let wire: z.infer<typeof Wire>;
  let groups: Map<number, GroupPosition>;
  let done: Set<number>;
  try {
    const parsed = Wire.safeParse(JSON.parse(Buffer.from(token, "base64url").toString("utf8")));
    if (!parsed.success) throw invalid();
    wire = parsed.data;
    groups = new Map(
      Object.entries(wire.g).map(([g, [horizon, ids]]) => [Number(g), { horizon, seen: unpackIds(ids) }]),
    );
    done = unpackBits(wire.d);
  } catch {
    throw invalid();
  }
  if (wire.s !== sessionId) throw new ValidationError(field, "was issued for another session");
  if (now - wire.i > CURSOR_MAX_AGE_MS) throw new CursorExpiredError(now - wire.i, CURSOR_MAX_AGE_MS);
  return { sessionId, issuedAt: wire.i, groups, done };
}
