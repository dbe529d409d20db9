/**
 * The resume token of a results stream. The API's cursor moves a page at a time, but a caller
 * may stop in the middle of a page; the token says where exactly: the API cursor the page was
 * read with, plus the task indexes of that chain already handed to the caller (skipped when the
 * stream resumes). At a page boundary nothing is skipped and the token is the API cursor itself.
 *
 * Format: `tr1.<indexes>.<api cursor>`, where `<indexes>` is base64url of unsigned LEB128
 * varints (the count, then the sorted indexes as deltas from the previous one, the first from
 * 0) and `<api cursor>` is the API's cursor verbatim (empty before the first page). API cursors
 * are base64url, with no `.`, so the prefix tells the two apart.
 */
import { TesseraError } from "./errors.ts";

/** Where a results stream resumes. */
export interface ResumePoint {
  /** The API cursor to read with; undefined for the start of the session. */
  apiCursor: string | undefined;
  /** Indexes the reader already received from the chain after `apiCursor`. */
  skip: ReadonlySet<number>;
}

const PREFIX = "tr1.";
/** Task indexes are 0 to 999,999,999,999 (the API's limit). */
const MAX_INDEX = 999_999_999_999;

/**
 * The token of a resume point: the API cursor alone when nothing is skipped, else a `tr1.`
 * token; undefined for the start of a session with nothing skipped.
 */
export function encodeResumeToken(point: ResumePoint): string | undefined {
  if (point.skip.size === 0) return point.apiCursor;
  const bytes: number[] = [];
  const uint = (value: number) => {
    let v = value;
    do {
      const low = v % 128;
      v = Math.floor(v / 128);
      bytes.push(v > 0 ? low | 0x80 : low);
    } while (v > 0);
  };
  uint(point.skip.size);
  let previous = 0;
  for (const index of [...point.skip].sort((a, b) => a - b)) {
    uint(index - previous);
    previous = index;
  }
  return `${PREFIX}${Buffer.from(bytes).toString("base64url")}.${point.apiCursor ?? ""}`;
}

/**
 * Parses a token from {@link encodeResumeToken}, or takes an API cursor as it is (what
 * `ResultStream.cursor` returned before tokens, and what the API's own pages carry). A malformed
 * `tr…` token is a TesseraError with code BAD_CURSOR naming the `cursor` option.
 */
export function decodeResumeToken(token: string | undefined): ResumePoint {
  if (!token) return { apiCursor: undefined, skip: new Set() };
  if (!/^tr\d+\./.test(token)) return { apiCursor: token, skip: new Set() };
  const bad = (why: string) =>
    new TesseraError(`cursor: not a resume token of this SDK (${why}); start again without one`, {
      status: 0,
      code: "BAD_CURSOR",
      field: "cursor",
    });
  if (!token.startsWith(PREFIX)) throw bad("unknown version");
  const dot = token.indexOf(".", PREFIX.length);
  if (dot < 0) throw bad("no API cursor part");
  const encoded = token.slice(PREFIX.length, dot);
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) throw bad("the index part is not base64url");
  const bytes = Buffer.from(encoded, "base64url");
  let at = 0;
  const uint = (): number => {
    let value = 0;
    let scale = 1;
    for (;;) {
      const b = bytes[at++];
      if (b === undefined) throw bad("truncated");
      if (scale > 2 ** 42) throw bad("a number is too large");
      value += (b & 0x7f) * scale;
      if (!(b & 0x80)) return value;
      scale *= 128;
    }
  };
  const count = uint();
  // Each index takes at least one byte: a count beyond the bytes left is a forgery, not a set.
  if (count === 0 || count > bytes.length - at) throw bad("bad index count");
  const skip = new Set<number>();
  let index = 0;
  for (let i = 0; i < count; i++) {
    const delta = uint();
    if (i > 0 && delta === 0) throw bad("repeated index");
    index += delta;
    if (index > MAX_INDEX) throw bad("index out of range");
    skip.add(index);
  }
  if (at !== bytes.length) throw bad("trailing bytes");
  const apiCursor = token.slice(dot + 1);
  return { apiCursor: apiCursor === "" ? undefined : apiCursor, skip };
}
