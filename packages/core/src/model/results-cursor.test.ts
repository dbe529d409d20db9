import { describe, expect, it } from "vitest";
import { Limits } from "./limits.ts";
import {
  CURSOR_MAX_AGE_MS,
  decodeCursor,
  encodeCursor,
  entryNumber,
  type ResultsCursor,
} from "./results-cursor.ts";

const NOW = 1_700_000_000_000;

function busyCursor(groups: number, entriesPerGroup: number): ResultsCursor {
  const cursor: ResultsCursor = { sessionId: "s", issuedAt: NOW, groups: new Map(), done: new Set() };
  for (let g = 0; g < groups; g++) {
    const seen = new Set<number>();
    for (let e = 0; e < entriesPerGroup; e++)
      seen.add(entryNumber(g * Limits.GROUP_SIZE + e * 64, e % 7 === 0 ? 1 : 0));
    cursor.groups.set(g + 100, { horizon: NOW - g, seen });
  }
  for (let g = 0; g < 100; g++) cursor.done.add(g);
  return cursor;
}

describe("results cursor", () => {
  it("round-trips positions, seen entries and done groups", () => {
    const cursor = busyCursor(3, 50);
    cursor.groups.set(400, { horizon: -1, seen: new Set() });
    expect(decodeCursor(encodeCursor(cursor, NOW), "s", NOW)).toEqual(cursor);
  });

  it("stays small enough for a query string when many groups complete at once", () => {
    // 8 groups finishing within the overlap window, 64 commits each, and 100 groups done.
    const token = encodeCursor(busyCursor(8, 64), NOW);
    expect(token.length).toBeLessThan(1_200);
    // A million-task session still running everywhere: 245 groups in progress, 4 recent entries each.
    expect(encodeCursor(busyCursor(245, 4), NOW).length).toBeLessThan(4_000);
  });

  it("rejects tampered, foreign and expired cursors with a clear field", () => {
    const token = encodeCursor(busyCursor(1, 3), NOW);
    expect(() => decodeCursor(`${token.slice(0, -4)}!!!!`, "s", NOW)).toThrow(/^cursor: is not a cursor/);
    expect(() => decodeCursor(Buffer.from('{"v":2}').toString("base64url"), "s", NOW)).toThrow(/^cursor:/);
    expect(() => decodeCursor(`${token}AAAA`, "s", NOW)).toThrow(/^cursor: is not a cursor/);
    expect(() => decodeCursor(token, "other", NOW)).toThrow("cursor: was issued for another session");
    expect(() => decodeCursor(token, "s", NOW + CURSOR_MAX_AGE_MS + 1)).toThrow(/expired/);
  });
});
