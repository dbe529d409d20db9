import { describe, expect, it } from "vitest";
import { completionSk } from "../engine/keys.ts";
import { Limits } from "./limits.ts";
import {
  CURSOR_MAX_AGE_MS,
  DeliveredSet,
  decodeCursor,
  encodeCursor,
  newGroupPosition,
  type ResultsCursor,
} from "./results-cursor.ts";

const NOW = 1_700_000_000_000;

/** `groups` groups in progress, each with `delivered` tasks delivered (every `stride`-th one). */
function busyCursor(groups: number, delivered: number, stride = 1): ResultsCursor {
  const cursor: ResultsCursor = {
    sessionId: "s",
    issuedAt: NOW,
    groups: new Map(),
    doneThrough: 41,
    done: new Set(),
    resumeAt: 77,
  };
  for (let g = 0; g < groups; g++) {
    const position = { ...newGroupPosition(), horizon: NOW - g, fullReadAt: NOW - 1_000 - g };
    for (let i = 0; i < delivered; i++) position.delivered.add((i * stride) % Limits.GROUP_SIZE);
    cursor.groups.set(g + 100, position);
  }
  for (let g = 0; g < 100; g++) cursor.done.add(g);
  return cursor;
}

describe("results cursor", () => {
  it("round-trips positions, delivered sets and done groups", () => {
    const cursor = busyCursor(3, 500, 3);
    cursor.groups.set(400, newGroupPosition());
    cursor.groups.set(244_000_000, { ...newGroupPosition(), horizon: NOW + 60_000 });
    const dense = busyCursor(1, 2_000, 2).groups.get(100)!; // alternating bits: stored as a bitmap
    cursor.groups.set(401, dense);
    cursor.groups.set(402, {
      ...newGroupPosition(),
      horizon: NOW,
      scan: { full: true, after: completionSk(NOW - 5, 402 * Limits.GROUP_SIZE + 64, 2) },
    });
    cursor.groups.set(403, { ...newGroupPosition(), horizon: NOW, scan: { full: true, final: true } });
    const back = decodeCursor(encodeCursor(cursor, NOW), "s", NOW);
    expect([...back.groups.keys()].sort((a, b) => a - b)).toEqual(
      [...cursor.groups.keys()].sort((a, b) => a - b),
    );
    for (const [g, p] of cursor.groups) {
      const q = back.groups.get(g)!;
      expect([q.horizon, q.fullReadAt, q.delivered.size]).toEqual([
        p.horizon,
        p.fullReadAt,
        p.delivered.size,
      ]);
      expect(q.delivered.runs()).toEqual(p.delivered.runs());
      expect(q.scan).toEqual(p.scan);
    }
    expect(back.done).toEqual(cursor.done);
    expect([back.doneThrough, back.resumeAt]).toEqual([41, 77]);
  });

  it("stays small: a group delivered in order costs a few bytes, a scattered one at most its bitmap", () => {
    // A million-task session running everywhere: 245 groups in progress, delivered in order.
    expect(encodeCursor(busyCursor(245, 1_000), NOW).length).toBeLessThan(4_000);
    // The worst case for one group: every other task delivered.
    const worst = encodeCursor(busyCursor(1, 2_048, 2), NOW);
    expect(Buffer.from(worst, "base64url").length).toBeLessThan(Limits.GROUP_SIZE / 8 + 160);
  });

  it("counts and lists delivered offsets as runs", () => {
    const set = new DeliveredSet();
    for (const o of [0, 1, 2, 7, 4095]) expect(set.add(o)).toBe(true);
    expect(set.add(1)).toBe(false);
    expect(set.size).toBe(5);
    expect(set.runs()).toEqual([
      [0, 3],
      [7, 1],
      [4095, 1],
    ]);
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
