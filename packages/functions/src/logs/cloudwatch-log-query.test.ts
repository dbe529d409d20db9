import { describe, expect, it } from "vitest";
import {
  decodeLogCursor,
  encodeLogCursor,
  entryOfEvent,
  eventDigest,
  filterRequest,
  type GroupResult,
  type LogCursor,
  MAX_SEEN_IDS,
  nextLogPage,
  startCursor,
  taskLogFilterPattern,
} from "./cloudwatch-log-query.ts";

const scope = { tenant: "acme", sessionId: "s1" };

/** A JSON line as a worker prints it. */
function line(index: number, message = `line of ${index}`, over: Record<string, unknown> = {}): string {
  return JSON.stringify({
    time: "2026-12-01T12:00:00.000Z",
    level: "info",
    message,
    tenant: "acme",
    session: "s1",
    index,
    attempt: 1,
    handler: "square",
    taskId: `s1#${index}`,
    ...over,
  });
}

function event(id: string, timestamp: number, message: string) {
  return { eventId: id, timestamp, message };
}

/** The digests a cursor keeps of these event ids. */
const d = (...ids: string[]) => ids.map(eventDigest);

describe("the filter pattern", () => {
  it("matches the tenant and session, and the task when given", () => {
    expect(taskLogFilterPattern("acme", "s1")).toBe('{ $.tenant = "acme" && $.session = "s1" }');
    expect(taskLogFilterPattern("acme", "risk.0412-a_b", 3)).toBe(
      '{ $.tenant = "acme" && $.session = "risk.0412-a_b" && $.index = 3 }',
    );
  });

  it("refuses anything that could change the pattern", () => {
    for (const value of ['a" || $.tenant = "b', "a*", "a\\", "", "a b", "x".repeat(65)])
      expect(() => taskLogFilterPattern(value, "s1")).toThrow(/is not an id/);
    expect(() => taskLogFilterPattern("acme", "s1}")).toThrow(/sessionId/);
    expect(() => taskLogFilterPattern("acme", "s1", -1)).toThrow(/not a task index/);
    expect(() => taskLogFilterPattern("acme", "s1", 1.5)).toThrow(/not a task index/);
  });
});

describe("the cursor", () => {
  it("round-trips through its opaque text", () => {
    const cursor: LogCursor = {
      groups: [
        { from: 1000, seen: d("e1", "e2") },
        { from: 900, seen: [], token: "tok/+=", start: 500 },
      ],
    };
    const text = encodeLogCursor(cursor);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/); // safe in a URL as it is
    expect(decodeLogCursor(text, 2)).toEqual(cursor);
  });

  it("refuses text that is not one of its cursors, naming query.after", () => {
    const other = encodeLogCursor(startCursor(1, 0));
    for (const text of ["12", "not base64!", Buffer.from('{"v":2,"g":[]}').toString("base64url"), other])
      expect(() => decodeLogCursor(text, 2)).toThrow(
        expect.objectContaining({ code: "VALIDATION", field: "query.after" }),
      );
  });

  it("starts every group at the session's creation", () => {
    expect(startCursor(2, 1234)).toEqual({
      groups: [
        { from: 1234, seen: [] },
        { from: 1234, seen: [] },
      ],
    });
  });
});

describe("the FilterLogEvents request", () => {
  it("starts a fresh search at the position, or continues CloudWatch's search from its start", () => {
    expect(filterRequest("/aws/lambda/w", "{ p }", { from: 1000, seen: d("a") }, 50)).toEqual({
      logGroupIdentifier: "/aws/lambda/w",
      filterPattern: "{ p }",
      startTime: 1000,
      limit: 50,
    });
    expect(filterRequest("g", "{ p }", { from: 1000, seen: [], token: "t", start: 700 }, 50)).toEqual({
      logGroupIdentifier: "g",
      filterPattern: "{ p }",
      startTime: 700,
      limit: 50,
      nextToken: "t",
    });
  });
});

describe("entries of events", () => {
  it("reads the JSON line, also after a runtime's text prefix", () => {
    expect(entryOfEvent(line(2), scope)).toMatchObject({ index: 2, message: "line of 2" });
    expect(entryOfEvent(`2026-12-01T12:00:00.000Z\treq-1\tINFO\t${line(3)}\n`, scope)).toMatchObject({
      index: 3,
    });
  });

  it("drops lines that are not entries, and entries of another tenant, session or task", () => {
    expect(entryOfEvent("START RequestId: 1 Version: $LATEST", scope)).toBeUndefined();
    expect(entryOfEvent('{"level":"info","message":"powertools"}', scope)).toBeUndefined();
    expect(entryOfEvent("{ not json", scope)).toBeUndefined();
    expect(entryOfEvent(undefined, scope)).toBeUndefined();
    expect(entryOfEvent(line(1, "x", { tenant: "globex" }), scope)).toBeUndefined();
    expect(entryOfEvent(line(1, "x", { session: "s2" }), scope)).toBeUndefined();
    expect(entryOfEvent(line(1), { ...scope, index: 2 })).toBeUndefined();
    expect(entryOfEvent(line(2), { ...scope, index: 2 })).toBeDefined();
  });
});

describe("a page over several groups", () => {
  const two = startCursor(2, 0);

  it("merges the groups by time and resumes after the last event delivered", () => {
    const results: GroupResult[] = [
      { events: [event("w1", 10, line(0, "w1")), event("w2", 30, line(1, "w2"))] },
      { events: [event("a1", 20, line(2, "a1"))] },
    ];
    const page = nextLogPage(scope, two, results, 10);
    expect(page.entries.map((e) => e.message)).toEqual(["w1", "a1", "w2"]);
    expect(page.more).toBe(false);
    expect(page.cursor.groups).toEqual([
      { from: 30, seen: d("w2") },
      { from: 20, seen: d("a1") },
    ]);
    // The next search starts at those times and returns those events again: they are skipped.
    const again = nextLogPage(
      scope,
      page.cursor,
      [
        { events: [event("w2", 30, line(1, "w2")), event("w3", 30, line(1, "w3"))] },
        { events: [event("a1", 20, line(2, "a1"))] },
      ],
      10,
    );
    expect(again.entries.map((e) => e.message)).toEqual(["w3"]);
    expect(again.cursor.groups).toEqual([
      { from: 30, seen: d("w2", "w3") },
      { from: 20, seen: d("a1") },
    ]);
  });

  it("keeps the cursor when nothing new came, so a follower polls with it", () => {
    const at: LogCursor = { groups: [{ from: 30, seen: d("w2") }] };
    const page = nextLogPage(scope, at, [{ events: [event("w2", 30, line(1))] }], 10);
    expect(page).toEqual({ entries: [], cursor: at, more: false });
    expect(encodeLogCursor(page.cursor)).toBe(encodeLogCursor(at));
  });

  it("stops at the limit; what was left out is read again from the last one delivered", () => {
    const results: GroupResult[] = [
      { events: [event("w1", 10, line(0, "w1")), event("w2", 40, line(0, "w2"))], nextToken: "more-w" },
      { events: [event("a1", 20, line(0, "a1")), event("a2", 30, line(0, "a2"))] },
    ];
    const page = nextLogPage(scope, two, results, 2);
    expect(page.entries.map((e) => e.message)).toEqual(["w1", "a1"]);
    expect(page.more).toBe(true);
    // The worker group's token is dropped: its page was not all delivered.
    expect(page.cursor.groups).toEqual([
      { from: 10, seen: d("w1") },
      { from: 20, seen: d("a1") },
    ]);
  });

  it("follows CloudWatch's token while its search goes on, even through empty answers", () => {
    const one = startCursor(1, 5);
    const searching = nextLogPage(scope, one, [{ events: [], nextToken: "t1" }], 10);
    expect(searching).toMatchObject({ entries: [], more: true });
    expect(searching.cursor.groups[0]).toEqual({ from: 5, seen: [], token: "t1", start: 5 });
    const found = nextLogPage(
      scope,
      searching.cursor,
      [{ events: [event("e1", 50, line(0))], nextToken: "t2" }],
      10,
    );
    // The token's search keeps the start it was begun with.
    expect(found.cursor.groups[0]).toEqual({ from: 50, seen: d("e1"), token: "t2", start: 5 });
    const done = nextLogPage(scope, found.cursor, [{ events: [event("e2", 60, line(0))] }], 10);
    expect(done).toMatchObject({ more: false, cursor: { groups: [{ from: 60, seen: d("e2") }] } });
  });

  it("moves past events that are not entries instead of reading them again", () => {
    const page = nextLogPage(
      scope,
      startCursor(1, 0),
      [{ events: [event("x1", 10, "not an entry"), event("x2", 20, line(0, "x", { tenant: "globex" }))] }],
      1,
    );
    expect(page.entries).toEqual([]);
    expect(page.cursor.groups[0]).toEqual({ from: 20, seen: d("x2") });
  });

  it("bounds the ids a cursor keeps: past the cap, the rest of that millisecond is skipped", () => {
    const events = Array.from({ length: MAX_SEEN_IDS + 5 }, (_, i) => event(`e${i}`, 10, line(0)));
    const page = nextLogPage(scope, startCursor(1, 0), [{ events }], 1000);
    expect(page.entries).toHaveLength(MAX_SEEN_IDS + 5);
    expect(page.cursor.groups[0]!.seen.length).toBeLessThanOrEqual(MAX_SEEN_IDS);
    // Two groups at the cap still make a cursor fit for a URL.
    const seen: string[] = Array(MAX_SEEN_IDS).fill(eventDigest("x"));
    const capped = {
      groups: [0, 1].map(() => ({ from: Date.now(), seen, token: "t".repeat(200), start: 0 })),
    };
    expect(encodeLogCursor(capped).length).toBeLessThan(4096);
  });
});
