/**
 * Item mapping of the task table. Attribute names are short and derivable data (tenant,
 * session, chunk start, blob keys) is not stored: an update is billed on the whole item, so a
 * 64-task chunk record stays a few hundred bytes (one write unit).
 */
import {
  activePk,
  chunkPk,
  chunkSk,
  completionPk,
  completionSk,
  failedRunsPk,
  failedRunsSk,
  groupOf,
  payloadBlobKey,
  SESSION_SK,
  sessionPk,
  tenantPk,
  tenantSk,
  uploadBlobKey,
} from "../../engine/keys.ts";
import { DEFAULT_SESSION_CONFIG, type SessionConfig } from "../../model/limits.ts";
import type {
  ChunkKey,
  ChunkRecord,
  CompletionEntry,
  FailedRunsEntry,
  SessionKey,
  SessionRecord,
  TaskOutcome,
} from "../../model/records.ts";
import type { SessionState } from "../../model/status.ts";

/** A stored item, as lib-dynamodb presents it. */
export type Item = Record<string, unknown>;

/** Parses `T#{tenant}#S#{session}[#...]`. */
export function parseSessionPk(pk: string): SessionKey {
  const parts = pk.split("#");
  return { tenant: parts[1]!, sessionId: parts[3]! };
}

/** The key of a chunk item. */
export function chunkItemKey(key: ChunkKey): { pk: string; sk: string } {
  return { pk: chunkPk(key, groupOf(key.start)), sk: chunkSk(key.start) };
}

/** Chunk key of a chunk item's keys. */
export function chunkKeyOf(item: Item): ChunkKey {
  return { ...parseSessionPk(item.pk as string), start: Number((item.sk as string).slice(2)) };
}

/** Per-slot attempts as base-36 digits: one byte per task (attempts never exceed 20). */
function encodeAttempts(attempts: readonly number[]): string {
  return attempts.map((a) => a.toString(36)).join("");
}

function decodeAttempts(text: string): number[] {
  return [...text].map((c) => Number.parseInt(c, 36));
}

/** A chunk record as an item. `dpk`/`due` are present only while the chunk is not settled. */
export function chunkToItem(c: ChunkRecord): Item {
  const item: Item = {
    ...chunkItemKey(c),
    v: c.version,
    n: c.count,
    sl: c.slots,
    at: encodeAttempts(c.attempts),
    f: c.fence,
    o: c.owner,
    la: c.leasedAt,
    lu: c.leaseUntil,
    nb: c.notBefore,
    rd: c.redrives,
    ...(c.charged ? { ch: true } : {}),
    ma: c.maxAttempts,
    lm: c.leaseMs,
    bb: c.backoffBaseMs,
    bm: c.backoffMaxMs,
    pl: c.pool,
    pr: c.priority,
    h: c.handler,
    tm: c.timeoutMs,
    dg: c.digest,
    pb: c.payloadBytes,
    pu: c.payloadRef,
    cm: c.commits.map((sk) => Number(sk.slice(0, 13))),
    ca: c.createdAt,
    ua: c.updatedAt,
  };
  if (c.due !== undefined) {
    item.dpk = item.pk;
    item.due = c.due;
  }
  return item;
}

/** A chunk item as a record. */
export function itemToChunk(item: Item): ChunkRecord {
  const key = chunkKeyOf(item);
  return {
    ...key,
    version: item.v as number,
    count: item.n as number,
    slots: item.sl as string,
    attempts: decodeAttempts(item.at as string),
    fence: item.f as number,
    owner: item.o as string | undefined,
    leasedAt: item.la as number | undefined,
    leaseUntil: item.lu as number | undefined,
    notBefore: item.nb as number,
    due: item.due as number | undefined,
    redrives: item.rd as number,
    charged: item.ch === true ? true : undefined,
    maxAttempts: item.ma as number,
    leaseMs: item.lm as number,
    backoffBaseMs: item.bb as number,
    backoffMaxMs: item.bm as number,
    pool: item.pl as string,
    priority: item.pr as ChunkRecord["priority"],
    handler: item.h as string | undefined,
    timeoutMs: (item.tm as number | undefined) ?? 60 * 60_000,
    digest: item.dg as string,
    payloadKey:
      item.pu === undefined ? payloadBlobKey(key, item.dg as string) : uploadBlobKey(key, item.pu as string),
    payloadRef: item.pu as string | undefined,
    payloadBytes: item.pb as number,
    commits: ((item.cm as number[] | undefined) ?? []).map((t, seq) => completionSk(t, key.start, seq)),
    createdAt: item.ca as number,
    updatedAt: item.ua as number,
  };
}

/** A session record as an item (active-index keys are added by the caller on creation). */
export function sessionToItem(s: SessionRecord): Item {
  return {
    pk: sessionPk(s),
    sk: SESSION_SK,
    v: s.version,
    st: s.state,
    cfg: JSON.stringify(s.config),
    tags: JSON.stringify(s.tags),
    se: s.sealed,
    ce: s.cancelEpoch,
    sc: s.sealCursor,
    ls: s.lastSubmitAt,
    ca: s.createdAt,
    ua: s.updatedAt,
  };
}

/** Tenant-index keys of a session. */
export function tenantKeys(s: SessionRecord): { tpk: string; tsk: string } {
  return { tpk: tenantPk(s.tenant), tsk: tenantSk(s.createdAt, s.sessionId) };
}

/** Active-index keys of a session. */
export function activeKeys(s: SessionKey): { apk: string; ask: string } {
  return { apk: activePk(s), ask: sessionPk(s) };
}

/** A session item as a record. */
export function itemToSession(item: Item): SessionRecord {
  return {
    ...parseSessionPk(item.pk as string),
    version: item.v as number,
    state: item.st as SessionState,
    // Settings added later take their defaults in sessions created before them.
    config: { ...DEFAULT_SESSION_CONFIG, ...(JSON.parse(item.cfg as string) as Partial<SessionConfig>) },
    tags: JSON.parse(item.tags as string) as Record<string, string>,
    sealed: item.se === true,
    cancelEpoch: (item.ce as number | undefined) ?? 0,
    sealCursor: item.sc as number | undefined,
    lastSubmitAt: item.ls as number | undefined,
    createdAt: item.ca as number,
    updatedAt: item.ua as number,
  };
}

/**
 * [index, status, attempt, result (or {r: blob key} for a large one), error code, message, run ms];
 * trailing fields are left out when empty, and missing ones before a present one are null.
 */
type WireOutcome = [
  number,
  string,
  number,
  (string | { r: string } | null)?,
  (string | null)?,
  (string | null)?,
  number?,
];
const STATUS_CODE = { SUCCEEDED: "S", FAILED: "F", CANCELLED: "C" } as const;
const STATUS_OF = { S: "SUCCEEDED", F: "FAILED", C: "CANCELLED" } as const;

/** A completion entry as an item; outcomes are one compact JSON string. */
export function completionToItem(e: CompletionEntry): Item {
  const outcomes: WireOutcome[] = e.outcomes.map((o) => {
    const row: WireOutcome = [o.index, STATUS_CODE[o.status], o.attempt];
    if (o.result !== undefined || o.resultRef !== undefined || o.error) {
      row.push(o.resultRef !== undefined ? { r: o.resultRef } : (o.result ?? null));
    }
    if (o.error) row.push(o.error.code, o.error.message);
    if (o.ms !== undefined) {
      while (row.length < 6) row.push(null);
      row.push(o.ms);
    }
    return row;
  });
  return {
    pk: completionPk(e, e.group),
    sk: e.sortKey,
    f: e.fence,
    o: e.owner,
    ca: e.committedAt,
    oc: JSON.stringify(outcomes),
    rk: e.resultsKey,
  };
}

/** A completion item as an entry. */
export function itemToCompletion(item: Item): CompletionEntry {
  const key = parseSessionPk(item.pk as string);
  const sk = item.sk as string;
  const chunkStart = Number(sk.slice(14, 26));
  const outcomes: TaskOutcome[] = (JSON.parse(item.oc as string) as WireOutcome[]).map(
    ([index, s, attempt, result, code, message, ms]) => ({
      index,
      status: STATUS_OF[s as keyof typeof STATUS_OF],
      attempt,
      result: typeof result === "string" ? result : undefined,
      resultRef: typeof result === "object" && result !== null ? result.r : undefined,
      error: typeof code === "string" ? { code, message: message ?? "" } : undefined,
      ms,
    }),
  );
  return {
    ...key,
    group: groupOf(chunkStart),
    sortKey: sk,
    chunkStart,
    fence: item.f as number,
    owner: item.o as string | undefined,
    committedAt: item.ca as number,
    outcomes,
    resultsKey: item.rk as string | undefined,
  };
}

/** A failed run on the wire: [index, attempt, error code, error message, ms]. */
type WireRun = [number, number, string | null, string | null, number | null];

/** A failed-run entry as an item; runs are one compact JSON string. */
export function failedRunsToItem(e: FailedRunsEntry): Item {
  const runs: WireRun[] = e.runs.map((r) => [
    r.index,
    r.attempt,
    r.error?.code ?? null,
    r.error?.message ?? null,
    r.ms ?? null,
  ]);
  return {
    pk: failedRunsPk(e, e.group),
    sk: failedRunsSk(e.chunkStart, e.version),
    at: e.at,
    o: e.owner,
    rs: JSON.stringify(runs),
  };
}

/** A failed-run item as an entry. */
export function itemToFailedRuns(item: Item): FailedRunsEntry {
  const key = parseSessionPk(item.pk as string);
  const [start, version] = (item.sk as string).split("#").map(Number) as [number, number];
  return {
    ...key,
    group: groupOf(start),
    chunkStart: start,
    version,
    at: item.at as number,
    owner: item.o as string | undefined,
    runs: (JSON.parse(item.rs as string) as WireRun[]).map(([index, attempt, code, message, ms]) => ({
      index,
      attempt,
      error: code === null ? undefined : { code, message: message ?? "" },
      ms: ms ?? undefined,
    })),
  };
}
