/**
 * The results cursor: where a reader of a session's completion entries stands, carried by the
 * client between calls so the server keeps no reader state. Per key group in progress it holds
 * the newest commit time read (capped at the reader's clock), when the group's whole completion
 * partition was last re-read, and the set of the group's tasks already delivered (a task is
 * delivered once, whatever copies of its entry a read meets); groups whose every task was
 * delivered are marked done and never read again.
 *
 * It is compact binary: every number is a varint delta, and a delivered set is stored as runs
 * (or as a 512-byte bitmap when that is smaller), so a group delivered in order costs a few bytes.
 */
import { completionSk, fnv1a } from "../engine/keys.ts";
import { CursorExpiredError, ValidationError } from "../errors.ts";
import { Limits } from "./limits.ts";

/** The tasks of one group already delivered, as a bitmap over their offsets in the group. */
export class DeliveredSet {
  readonly bits = new Uint8Array(Limits.GROUP_SIZE / 8);
  #size = 0;

  get size(): number {
    return this.#size;
  }

  has(offset: number): boolean {
    return (this.bits[offset >> 3]! & (1 << (offset & 7))) !== 0;
  }

  /** Adds an offset; false when it was there already. */
  add(offset: number): boolean {
    if (this.has(offset)) return false;
    this.bits[offset >> 3]! |= 1 << (offset & 7);
    this.#size++;
    return true;
  }

  /** Maximal runs [start, length) of delivered offsets, in order (a byte at a time where it can). */
  runs(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    let start = -1;
    const close = (end: number) => {
      if (start >= 0) out.push([start, end - start]);
      start = -1;
    };
    for (let byte = 0; byte < this.bits.length; byte++) {
      const b = this.bits[byte]!;
      if (b === 0xff) {
        if (start < 0) start = byte * 8;
        continue;
      }
      if (b === 0) {
        close(byte * 8);
        continue;
      }
      for (let bit = 0; bit < 8; bit++) {
        const offset = byte * 8 + bit;
        if (b & (1 << bit)) {
          if (start < 0) start = offset;
        } else close(offset);
      }
    }
    close(Limits.GROUP_SIZE);
    return out;
  }
}

/** An interrupted read of a group, to be continued after `after` (from the start if absent). */
export interface GroupScan {
  after?: string | undefined;
  /** A full read (its end marks the group's full read done) rather than a window read. */
  full: boolean;
  /** The full read made after every chunk of the group was found terminal: its end is the group's. */
  final?: boolean | undefined;
}

/** Position of a reader in one key group. */
export interface GroupPosition {
  /** Newest commit time read (from entry sort keys), capped at the reader's clock; -1 before any. */
  horizon: number;
  /** When the group's whole completion partition was last read; -1 never. */
  fullReadAt: number;
  /** Tasks of the group delivered so far. */
  delivered: DeliveredSet;
  /** A read a full page interrupted: the next read carries on from there. */
  scan?: GroupScan | undefined;
}

/** A reader's position in a session. */
export interface ResultsCursor {
  sessionId: string;
  issuedAt: number;
  groups: Map<number, GroupPosition>;
  /** Every group of the session up to this one is fully delivered (-1: none known). */
  doneThrough: number;
  /** Groups beyond `doneThrough` fully delivered. */
  done: Set<number>;
  /** Where the next read resumes its walk over the groups (-1: from the start). */
  resumeAt: number;
}

/** How long a cursor may be resumed after it was issued. */
export const CURSOR_MAX_AGE_MS = 7 * 24 * 60 * 60_000;

/** A cursor at the start of a session. */
export function startCursor(sessionId: string, now: number): ResultsCursor {
  return { sessionId, issuedAt: now, groups: new Map(), doneThrough: -1, done: new Set(), resumeAt: -1 };
}

/** A group position before its first read. */
export function newGroupPosition(): GroupPosition {
  return { horizon: -1, fullReadAt: -1, delivered: new DeliveredSet() };
}

/** Appends unsigned varints (7 bits a byte, LEB128). */
class Writer {
  readonly bytes: number[] = [];
  uint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`not a cursor number: ${value}`);
    let v = value;
    do {
      const low = v % 128;
      v = Math.floor(v / 128);
      this.bytes.push(v > 0 ? low | 0x80 : low);
    } while (v > 0);
  }
  /** A time relative to `base`: 0 for none, else zig-zag of the difference, plus one. */
  time(value: number, base: number): void {
    this.uint(value < 0 ? 0 : 1 + (base - value >= 0 ? 2 * (base - value) : 2 * (value - base) - 1));
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
  byte(): number {
    const b = this.#bytes[this.#at++];
    if (b === undefined) throw new Error("truncated cursor");
    return b;
  }
  time(base: number): number {
    const h = this.uint();
    if (h === 0) return -1;
    const delta = (h - 1) % 2 === 0 ? (h - 1) / 2 : -(h / 2);
    return base - delta;
  }
}

const VERSION = 4;
/** Delivered-set encodings. */
const RUNS = 0;
const BITMAP = 1;

/** A scan: 0 none, else 1 + full + 2 × (from the start) + 4 × final, then the sort key's parts if any. */
function writeScan(w: Writer, scan: GroupScan | undefined, group: number, now: number): void {
  if (!scan) {
    w.uint(0);
    return;
  }
  w.uint(1 + (scan.full ? 1 : 0) + (scan.after === undefined ? 2 : 0) + (scan.final ? 4 : 0));
  if (scan.after === undefined) return;
  const [time, start, seq] = scan.after.split("#").map(Number) as [number, number, number];
  w.time(time, now);
  w.uint(start - group * Limits.GROUP_SIZE);
  w.uint(seq);
}

function readScan(r: Reader, group: number, issuedAt: number): GroupScan | undefined {
  const raw = r.uint();
  if (raw === 0) return undefined;
  if (raw > 8) throw new Error("bad scan");
  const final = raw > 4 ? true : undefined;
  const kind = raw > 4 ? raw - 4 : raw;
  const full = (kind - 1) % 2 === 1;
  if (kind >= 3) return final ? { full, final } : { full };
  const time = r.time(issuedAt);
  const offset = r.uint();
  const seq = r.uint();
  if (time < 0 || offset >= Limits.GROUP_SIZE || seq > 999) throw new Error("bad scan");
  const after = completionSk(time, group * Limits.GROUP_SIZE + offset, seq);
  return final ? { full, after, final } : { full, after };
}

function writeDelivered(w: Writer, set: DeliveredSet): void {
  const runs = set.runs();
  // Each run costs at least two bytes; past that the raw bitmap is never larger.
  if (runs.length * 2 + 2 > set.bits.length) {
    w.uint(BITMAP);
    for (const b of set.bits) w.bytes.push(b);
    return;
  }
  w.uint(RUNS);
  w.uint(runs.length);
  let end = 0;
  for (const [start, length] of runs) {
    w.uint(start - end);
    w.uint(length);
    end = start + length;
  }
}

function readDelivered(r: Reader): DeliveredSet {
  const set = new DeliveredSet();
  const kind = r.uint();
  if (kind === BITMAP) {
    for (let i = 0; i < set.bits.length; i++) {
      const b = r.byte();
      for (let bit = 0; bit < 8; bit++) if (b & (1 << bit)) set.add(i * 8 + bit);
    }
    return set;
  }
  if (kind !== RUNS) throw new Error("bad delivered set");
  const runs = r.uint();
  let end = 0;
  for (let i = 0; i < runs; i++) {
    const start = end + r.uint();
    const length = r.uint();
    if (start + length > Limits.GROUP_SIZE) throw new Error("bad run");
    for (let o = start; o < start + length; o++) set.add(o);
    end = start + length;
  }
  return set;
}

/**
 * Serializes a cursor to an opaque URL-safe token: a version, a hash binding it to its session,
 * the issue time, then per group in progress its number (delta), horizon and last full read
 * (relative to the issue time) and delivered set, then the done watermark, the walk's resume
 * point, and the done groups beyond the watermark (deltas).
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
    w.time(position.horizon, now);
    w.time(position.fullReadAt, now);
    writeScan(w, position.scan, group, now);
    writeDelivered(w, position.delivered);
  }
  w.uint(cursor.doneThrough + 1);
  w.uint(cursor.resumeAt + 1);
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
  let doneThrough: number;
  let resumeAt: number;
  try {
    const r = new Reader(Buffer.from(token, "base64url"));
    if (r.uint() !== VERSION) throw invalid();
    session = r.uint();
    issuedAt = r.uint();
    const count = r.uint();
    if (count > Limits.MAX_TASK_INDEX / Limits.GROUP_SIZE) throw invalid();
    let group = 0;
    for (let i = 0; i < count; i++) {
      group += r.uint();
      const horizon = r.time(issuedAt);
      const fullReadAt = r.time(issuedAt);
      const scan = readScan(r, group, issuedAt);
      groups.set(group, { horizon, fullReadAt, scan, delivered: readDelivered(r) });
    }
    doneThrough = r.uint() - 1;
    resumeAt = r.uint() - 1;
    const finished = r.uint();
    if (finished > Limits.MAX_TASK_INDEX / Limits.GROUP_SIZE) throw invalid();
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
  return { sessionId, issuedAt, groups, doneThrough, done, resumeAt };
}
