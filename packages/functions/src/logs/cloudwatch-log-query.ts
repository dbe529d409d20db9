/**
 * The pure part of reading task logs from CloudWatch Logs: the filter pattern that finds a
 * session's entries, the cursor that resumes a read across several log groups, and the page
 * built from what each group returned. No I/O here, so each piece is tested without AWS (there
 * is no CloudWatch Logs emulator).
 *
 * How a read resumes: per log group, the position is the timestamp of the last entry delivered
 * (`from`) and digests of the ids of the events delivered at that very millisecond (`seen`), so
 * a fresh search from `from` skips exactly those; while CloudWatch is still searching (it answered with
 * a `nextToken`, sometimes with no events), the token and the search's start are kept too.
 */

import { createHash } from "node:crypto";
import type { FilterLogEventsCommandInput } from "@aws-sdk/client-cloudwatch-logs";
import { ValidationError } from "@tessera/core";
import { isTaskLogEntry, type TaskLogEntry } from "@tessera/task";
import { z } from "zod";

/**
 * Values put in a filter pattern: the id alphabet (IdSchema, and tenants are checked against
 * it at the edge), which needs no escaping inside double quotes — no `"`, `\` or `*`.
 */
const PATTERN_VALUE = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Most event ids a cursor keeps per group (more at one millisecond skip the rest of it): with
 * 8-character digests, two groups' cursor stays near 3 KB, fit for a URL.
 */
export const MAX_SEEN_IDS = 100;

/**
 * An event id as a cursor keeps it: 48 bits of its hash (CloudWatch's ids are 56 digits; a
 * collision among the few events of one millisecond is out of reach).
 */
export function eventDigest(eventId: string): string {
  return createHash("sha256").update(eventId).digest("base64url").slice(0, 8);
}

/**
 * The JSON filter pattern matching a session's entries (one task's with `index`):
 * `{ $.tenant = "acme" && $.session = "s1" && $.index = 3 }`. Throws for a value outside the
 * id alphabet: the edge never lets one through, and a pattern must never be injectable.
 */
export function taskLogFilterPattern(tenant: string, sessionId: string, index?: number): string {
  for (const [name, value] of [
    ["tenant", tenant],
    ["sessionId", sessionId],
  ] as const)
    if (!PATTERN_VALUE.test(value)) throw new Error(`${name} ${JSON.stringify(value)} is not an id`);
  if (index !== undefined && !(Number.isSafeInteger(index) && index >= 0))
    throw new Error(`index ${index} is not a task index`);
  const terms = [`$.tenant = "${tenant}"`, `$.session = "${sessionId}"`];
  if (index !== undefined) terms.push(`$.index = ${index}`);
  return `{ ${terms.join(" && ")} }`;
}

/** Where the read of one log group resumes. */
export interface GroupPosition {
  /** Timestamp (ms) of the last event delivered, or where the read starts. */
  from: number;
  /** Digests ({@link eventDigest}) of the events delivered at `from`. */
  seen: string[];
  /** CloudWatch's token of an unfinished search, and that search's start time. */
  token?: string | undefined;
  start?: number | undefined;
}

/** A read's position in every log group, in the order the groups are configured. */
export interface LogCursor {
  groups: GroupPosition[];
}

const CursorSchema = z.object({
  v: z.literal(1),
  g: z.array(
    z.object({
      f: z.number().int().min(0),
      s: z.array(z.string().max(16)).max(MAX_SEEN_IDS),
      t: z.string().max(4096).optional(),
      a: z.number().int().min(0).optional(),
    }),
  ),
});

/** The first position in `groups` log groups: entries from `since` on. */
export function startCursor(groups: number, since: number): LogCursor {
  return { groups: Array.from({ length: groups }, () => ({ from: since, seen: [] })) };
}

/** A cursor as the opaque text the API hands out (base64url JSON). */
export function encodeLogCursor(cursor: LogCursor): string {
  const g = cursor.groups.map((p) => ({
    f: p.from,
    s: p.seen,
    ...(p.token !== undefined ? { t: p.token, a: p.start } : {}),
  }));
  return Buffer.from(JSON.stringify({ v: 1, g })).toString("base64url");
}

/** The cursor in `text`; a ValidationError naming `query.after` when it is not one of ours. */
export function decodeLogCursor(text: string, groups: number): LogCursor {
  const bad = () => new ValidationError("query.after", "must be the `next` of a previous page");
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    throw bad();
  }
  const parsed = CursorSchema.safeParse(value);
  // A cursor of another set of log groups (the grid was redeployed) cannot resume here.
  if (!parsed.success || parsed.data.g.length !== groups) throw bad();
  return {
    groups: parsed.data.g.map((p) => ({
      from: p.f,
      seen: p.s,
      ...(p.t !== undefined ? { token: p.t, start: p.a ?? p.f } : {}),
    })),
  };
}

/** The FilterLogEvents request that continues the read of `group` at `position`. */
export function filterRequest(
  group: string,
  pattern: string,
  position: GroupPosition,
  limit: number,
): FilterLogEventsCommandInput {
  return {
    logGroupIdentifier: group,
    filterPattern: pattern,
    startTime: position.token !== undefined ? (position.start ?? position.from) : position.from,
    limit,
    ...(position.token !== undefined ? { nextToken: position.token } : {}),
  };
}

/** What one group's search returned (the fields of FilterLogEvents' answer used here). */
export interface GroupResult {
  events: { eventId?: string | undefined; timestamp?: number | undefined; message?: string | undefined }[];
  nextToken?: string | undefined;
}

/** Whose entries a page may hold: anything else a search returns is dropped. */
export interface LogScope {
  tenant: string;
  sessionId: string;
  index?: number | undefined;
}

/**
 * The task log entry in an event's message, if it holds one of `scope`'s: the JSON line a
 * worker or agent printed, possibly after a runtime's `time\trequestId\tLEVEL\t` prefix.
 * Entries of other tenants, sessions or tasks are dropped even though the filter pattern
 * excludes them, so a pattern mistake can never show one tenant another's lines.
 */
export function entryOfEvent(message: string | undefined, scope: LogScope): TaskLogEntry | undefined {
  if (!message) return undefined;
  const start = message.indexOf("{");
  if (start < 0) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(message.slice(start));
  } catch {
    return undefined;
  }
  if (!isTaskLogEntry(value)) return undefined;
  if (value.tenant !== scope.tenant || value.session !== scope.sessionId) return undefined;
  if (scope.index !== undefined && value.index !== scope.index) return undefined;
  return value;
}

/** An event of one group, in the order the page is merged. */
interface Item {
  group: number;
  id: string;
  time: number;
  entry: TaskLogEntry | undefined;
}

/**
 * The page made of each group's search results (`results[i]` from the search at
 * `cursor.groups[i]`): the events of every group merged by time, at most `limit` entries, and
 * the cursor after them. Events already delivered are skipped; events a full page left out are
 * read again by the next search, which starts at the last one delivered.
 */
export function nextLogPage(
  scope: LogScope,
  cursor: LogCursor,
  results: GroupResult[],
  limit: number,
): { entries: TaskLogEntry[]; cursor: LogCursor; more: boolean } {
  const items: Item[] = [];
  results.forEach((result, group) => {
    const at = cursor.groups[group]!;
    for (const e of result.events) {
      const id = eventDigest(e.eventId ?? "");
      const time = e.timestamp ?? at.from;
      if (time === at.from && at.seen.includes(id)) continue;
      items.push({ group, id, time, entry: entryOfEvent(e.message, scope) });
    }
  });
  // Stable: within a group and millisecond, CloudWatch's own order.
  items.sort((a, b) => a.time - b.time || a.group - b.group);
  const entries: TaskLogEntry[] = [];
  let taken = 0;
  for (const item of items) {
    if (item.entry) {
      if (entries.length === limit) break;
      entries.push(item.entry);
    }
    taken++;
  }
  const delivered = items.slice(0, taken);
  let more = taken < items.length;
  const groups = cursor.groups.map((at, group): GroupPosition => {
    let { from, seen } = at;
    for (const item of delivered) {
      if (item.group !== group || item.time < from) continue;
      if (item.time > from) {
        from = item.time;
        seen = [];
      }
      // Past the cap, the rest of this millisecond is skipped rather than read again forever.
      if (seen.length >= MAX_SEEN_IDS) {
        from = item.time + 1;
        seen = [];
      } else seen = [...seen, item.id];
    }
    const token = results[group]?.nextToken;
    const left = items.slice(taken).some((i) => i.group === group);
    // The search goes on from CloudWatch's token only if all it returned was delivered; else
    // a fresh search from `from` reads the rest again.
    if (token && !left) {
      more = true;
      return { from, seen, token, start: at.token !== undefined ? (at.start ?? at.from) : at.from };
    }
    return { from, seen };
  });
  return { entries, cursor: { groups }, more };
}
