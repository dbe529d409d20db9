/**
 * The results cursor: where a reader of a session's completion entries stands, carried by the
 * client between calls so the server keeps no reader state. Per key group it holds the newest
 * commit time read and the ids of the entries read within the overlap window (re-read to catch
 * commits that landed after a later-stamped one, and skipped by id); groups whose every task
 * was delivered are marked done and never read again.
 *
 * It travels in a query string, so it is compact binary: an entry id is a number (the chunk's
 * offset in its group, plus its commit sequence times the group size), and every number is a
 * delta, varint-encoded: about one byte per recent entry and five per group in progress.
 */
import { fnv1a } from "../engine/keys.ts";
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

/** A cursor at the start of a session. */
export function startCursor(sessionId: string, now: number): ResultsCursor {
  return { sessionId, issuedAt: now, groups: new Map(), done: new Set() };
}

/** Appends unsigned varints (7 bits a byte, LEB128). */
class Writer {
  readonly bytes: number[] = [];
  uint(value: number): void {
    let v = value;
    do {
      const low = v % 128;
      v = Math.floor(v / 128);
      this.bytes.push(v > 0 ? low | 0x80 : low);
    } while (v > 0);
  }
}

class Reader {
  #at = 0;
  readonly #bytes: Buffer;
  constructor(bytes: Buffer) {
    this.#bytes = bytes;
  }
  get done(): boolean {
    return this.#at >= this.#bytes.length;
  }
  uint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      const b = this.#bytes[this.#at++];
      if (b === undefined || scale > 2 ** 49) throw new Error("truncated cursor");
      value += (b & 0x7f) * scale;
      if (!(b & 0x80)) return value;
      scale *= 128;
    }
  }
}

const VERSION = 3;

/**
 * Serializes a cursor to an opaque URL-safe token: a version, a hash binding it to its session,
 * the issue time, then per group its number (delta), horizon (relative to the issue time) and
 * sorted seen ids (deltas), then the done groups (deltas). About 5 bytes per group in progress
 * plus one per recent entry.
 */
export function encodeCursor(cursor: ResultsCursor, now: number): string {
  const w = new Writer();
  w.uint(VERSION);
  w.uint(fnv1a(cursor.sessionId));
  w.uint(now);
  const groups = [...cursor.groups].sort((a, b) => a[0] - b[0]);
  w.uint(groups.length);
  let previous = 0;
  for (const [group, position] of groups) {
    w.uint(group - previous);
    previous = group;
    w.uint(
      position.horizon < 0
        ? 0
        : 1 + (now - position.horizon >= 0 ? 2 * (now - position.horizon) : 2 * (position.horizon - now) - 1),
    );
    const ids = [...position.seen].sort((a, b) => a - b);
    w.uint(ids.length);
    let last = 0;
    for (const id of ids) {
      w.uint(id - last);
      last = id;
    }
  }
  const done = [...cursor.done].sort((a, b) => a - b);
  w.uint(done.length);
  previous = 0;
  for (const group of done) {
    w.uint(group - previous);
    previous = group;
  }
  return Buffer.from(w.bytes).toString("base64url");
}

/**
 * Parses a cursor issued for `sessionId`. A malformed token or another session's cursor is a
 * ValidationError naming `field`; one older than CURSOR_MAX_AGE_MS is a CursorExpiredError.
 */
export function decodeCursor(token: string, sessionId: string, now: number, field = "cursor"): ResultsCursor {
  const invalid = () =>
    new ValidationError(field, "is not a cursor issued by this API (start again without one)");
  if (!/^[A-Za-z0-9_-]*$/.test(token)) throw invalid();
  let session: number;
  let issuedAt: number;
  const groups = new Map<number, GroupPosition>();
  const done = new Set<number>();
  try {
    const r = new Reader(Buffer.from(token, "base64url"));
    if (r.uint() !== VERSION) throw invalid();
    session = r.uint();
    issuedAt = r.uint();
    const count = r.uint();
    let group = 0;
    for (let i = 0; i < count; i++) {
      group += r.uint();
      const h = r.uint();
      const delta = h === 0 ? 0 : (h - 1) % 2 === 0 ? (h - 1) / 2 : -(h / 2);
      const horizon = h === 0 ? -1 : issuedAt - delta;
      const seen = new Set<number>();
      let id = 0;
      const ids = r.uint();
      if (ids > 100_000) throw invalid();
      for (let j = 0; j < ids; j++) {
        id += r.uint();
        seen.add(id);
      }
      groups.set(group, { horizon, seen });
    }
    const finished = r.uint();
    group = 0;
    for (let i = 0; i < finished; i++) {
      group += r.uint();
      done.add(group);
    }
    if (!r.done) throw invalid();
  } catch {
    throw invalid();
  }
  if (session !== fnv1a(sessionId)) throw new ValidationError(field, "was issued for another session");
  if (now - issuedAt > CURSOR_MAX_AGE_MS) throw new CursorExpiredError(now - issuedAt, CURSOR_MAX_AGE_MS);
  return { sessionId, issuedAt, groups, done };
}
