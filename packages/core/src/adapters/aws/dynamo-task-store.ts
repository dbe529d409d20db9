import { ConditionalCheckFailedException, TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { HistoryPoint } from "../../engine/history.ts";
import {
  activePk,
  activeShardPk,
  COUNTER_SHARDS,
  COUNTER_SK,
  chunkPk,
  chunkSk,
  completionPk,
  counterPk,
  directoryPk,
  directorySk,
  failedRunsPk,
  failedRunsSk,
  GROUP_SK,
  groupOf,
  groupStart,
  historyPk,
  SESSION_SK,
  sessionPk,
  tenantPk,
  USAGE_SHARDS,
  USAGE_SK,
  usagePk,
} from "../../engine/keys.ts";
import { counterDelta, type SlotCounters, zeroCounters } from "../../engine/progress.ts";
import { InvariantError } from "../../errors.ts";
import { DEFAULT_RETENTION_DAYS } from "../../model/limits.ts";
import type {
  ChunkKey,
  ChunkRecord,
  CompletionEntry,
  FailedRunsEntry,
  GroupRecord,
  SessionKey,
  SessionRecord,
} from "../../model/records.ts";
import { SessionState } from "../../model/status.ts";
import type { Clock } from "../../ports/clock.ts";
import {
  type ChunkWrite,
  type ChunkWriteResult,
  type CompletionPage,
  type GroupPage,
  type InsertResult,
  MAX_INSERT_CHUNKS,
  type SessionPage,
  type TaskStore,
  type WriteResult,
} from "../../ports/task-store.ts";
import { ACTIVE_INDEX, DUE_INDEX, TENANT_INDEX } from "../../resources.ts";
import { mapLimit } from "../../util.ts";
import { SystemClock } from "../memory/clocks.ts";
import { historyToItem, itemToHistory } from "./dynamo-history.ts";
import {
  activeKeys,
  chunkItemKey,
  chunkKeyOf,
  chunkToItem,
  completionToItem,
  failedRunsToItem,
  type Item,
  itemToChunk,
  itemToCompletion,
  itemToFailedRuns,
  itemToSession,
  parseSessionPk,
  sessionToItem,
  tenantKeys,
} from "./dynamo-items.ts";

/** Identity of an item by its table key. */
function itemId(k: { pk: string; sk: string }): string {
  return `${k.pk}|${k.sk}`;
}

/** Attribute of each task counter in a counters item. */
const COUNTER_ATTRIBUTE: Record<keyof SlotCounters, string> = {
  tasks: "n",
  leased: "l",
  succeeded: "s",
  failed: "f",
  cancelled: "c",
};

/**
 * The attribute of the table's TTL (infra/storage.ts): when DynamoDB may delete the item, in
 * epoch seconds. Every write of an item by the grid sets it to the retention after that write
 * (one more attribute in a write that happens anyway: no request added, and a few bytes that
 * leave the billed size of these items in the same write unit).
 */
export const EXPIRES_AT = "expiresAt";

/** The session record's attribute: when (ms) its other items were last renewed (see renewSession). */
const RENEWED_AT = "rn";

/**
 * How often the reaper renews an active session's items that its tasks do not rewrite: at least
 * daily, so that they outlive the session's last work by about the retention (results written in
 * the day before the session went idle may lose their group's directory entry up to a day before
 * the bucket expires them), and twice per retention, so that none expires mid-session.
 */
function renewEveryMs(retentionMs: number): number {
  return Math.min(24 * 60 * 60_000, retentionMs / 2);
}

/**
 * An update adding `delta` to a chunk's counter shard (ADD: concurrent adds never lose one
 * another), and pushing back its expiry.
 */
function counterUpdate(
  table: string,
  session: SessionKey,
  shard: number,
  delta: Partial<SlotCounters>,
  expiresAt: number,
) {
  const entries = Object.entries(delta) as [keyof SlotCounters, number][];
  return {
    Update: {
      TableName: table,
      Key: { pk: counterPk(session, shard), sk: COUNTER_SK },
      UpdateExpression: `SET ${EXPIRES_AT} = :exp ADD ${entries.map(([k]) => `${COUNTER_ATTRIBUTE[k]} :${COUNTER_ATTRIBUTE[k]}`).join(", ")}`,
      ExpressionAttributeValues: {
        ...Object.fromEntries(entries.map(([k, v]) => [`:${COUNTER_ATTRIBUTE[k]}`, v])),
        ":exp": expiresAt,
      },
    },
  };
}

/** Options of the DynamoDB task store. */
export interface DynamoTaskStoreOptions {
  /**
   * Days an item is kept after the grid's last write of it (the table's TTL deletes it then):
   * the bucket's retention, so that a record lives at least as long as the objects it points
   * to. A whole number, at least 1. @default DEFAULT_RETENTION_DAYS (30)
   */
  retentionDays?: number;
  /** The grid's clock: expiry counts from its time (the system clock on AWS). @default the system clock */
  clock?: Clock;
}

/** Tries of a seal that an insert's transaction in flight on the group's lock kept out. */
const SEAL_TRIES = 12;

/** Tries of a transaction that another transaction on one of its items cancelled. */
const CONFLICT_TRIES = 4;

/** True when a transaction was cancelled only by a concurrent transaction (not by a condition). */
function isTransactionConflict(error: unknown): boolean {
  if (error instanceof TransactionCanceledException) {
    const reasons = error.CancellationReasons ?? [];
    return (
      reasons.some((r) => r.Code === "TransactionConflict") &&
      !reasons.some((r) => r.Code === "ConditionalCheckFailed")
    );
  }
  return (error as { name?: string }).name === "TransactionConflictException";
}

/** Renewals of expiry in flight at once per call. */
const RENEW_CONCURRENCY = 16;

/** Conditional writes in flight at once per call (no more than there are counter shards). */
const WRITE_CONCURRENCY = COUNTER_SHARDS;
/** Largest chunk (chunkMaxTasks bound): how far before `from` a covering chunk may start. */
const MAX_CHUNK_TASKS = 1_000;

function isConditionFailure(error: unknown): boolean {
  if (error instanceof ConditionalCheckFailedException) return true;
  if (error instanceof TransactionCanceledException) {
    // A condition failed, or a concurrent transaction touched the same item: either way the
    // caller re-reads and decides again.
    return (error.CancellationReasons ?? []).some(
      (r) => r.Code === "ConditionalCheckFailed" || r.Code === "TransactionConflict",
    );
  }
  return (error as { name?: string }).name === "TransactionConflictException";
}

/**
 * The task store on DynamoDB (one table, see engine/keys.ts for the key layout). Adapters only
 * translate: a failed condition becomes a `conflict` result, never an exception.
 *
 * Expiry: every put and update of an item sets `expiresAt` to the retention after it, so an item
 * outlives by the retention the grid's last write of it, and any object it points to (written
 * before it). Chunks are rewritten by every change of their tasks (and re-driven by the reaper
 * while pending), completion entries are written once with the results they hold or point to.
 * The session record, the group directory entries and locks, and the counter and usage shards
 * are not rewritten by a running session's tasks (a shard only by the writes that happen to pick
 * it; a directory entry never): rather than adding their writes to every task transaction (more
 * write units per task), the reaper renews them while the session is active, about daily (see
 * renewEveryMs), and marks when on the session record (`rn`), whose reads say `renewDue` once it
 * is time. The session record's last write is its deactivation, once its tasks have settled.
 */
export class DynamoTaskStore implements TaskStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #clock: Clock;
  readonly #retentionSeconds: number;
  readonly #renewEveryMs: number;

  constructor(doc: DynamoDBDocumentClient, tableName: string, options: DynamoTaskStoreOptions = {}) {
    const days = options.retentionDays ?? DEFAULT_RETENTION_DAYS;
    if (!Number.isInteger(days) || days < 1)
      throw new InvariantError(`retentionDays must be a whole number of days, at least 1 (got ${days})`);
    this.#doc = doc;
    this.#table = tableName;
    this.#clock = options.clock ?? new SystemClock();
    this.#retentionSeconds = days * 24 * 60 * 60;
    this.#renewEveryMs = renewEveryMs(this.#retentionSeconds * 1000);
  }

  /** `expiresAt` of an item written now: the retention from now, in epoch seconds. */
  #expiresAt(): number {
    return Math.floor(this.#clock.now() / 1000) + this.#retentionSeconds;
  }

  /** A session item as a record, saying whether its other items are due for renewal. */
  #toSession(item: Item): SessionRecord {
    const session = itemToSession(item);
    // A session stored before expiry was written counts from its creation: renewing it gives
    // its items their first expiry.
    const renewedAt = (item[RENEWED_AT] as number | undefined) ?? session.createdAt;
    if (this.#clock.now() - renewedAt >= this.#renewEveryMs) session.renewDue = true;
    return session;
  }

  async createSession(session: SessionRecord): Promise<"created" | "exists"> {
    try {
      // Guarantees: a session id is created once; a retried create never overwrites it.
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            ...sessionToItem(session),
            ...activeKeys(session),
            ...tenantKeys(session),
            [RENEWED_AT]: this.#clock.now(),
            [EXPIRES_AT]: this.#expiresAt(),
          },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      return "created";
    } catch (error) {
      if (isConditionFailure(error)) return "exists";
      throw error;
    }
  }

  async getSession(key: SessionKey): Promise<SessionRecord | undefined> {
    const out = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { pk: sessionPk(key), sk: SESSION_SK },
        ConsistentRead: true,
      }),
    );
    return out.Item ? this.#toSession(out.Item) : undefined;
  }

  async writeSession(session: SessionRecord, expectedVersion: number): Promise<WriteResult> {
    try {
      // Guarantees: no lost update; the write lands only on the version the caller read.
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: sessionPk(session), sk: SESSION_SK },
          UpdateExpression: `SET v = :v, st = :st, cfg = :cfg, tags = :tags, se = :se, ce = :ce, ua = :ua, ${EXPIRES_AT} = :exp${
            session.sealCursor === undefined ? " REMOVE sc" : ", sc = :sc"
          }`,
          ConditionExpression: "v = :expected",
          ExpressionAttributeValues: (({ v, st, cfg, tags, se, ce, sc, ua }) => ({
            ":exp": this.#expiresAt(),
            ":v": v,
            ":st": st,
            ":cfg": cfg,
            ":tags": tags,
            ":se": se,
            ":ce": ce,
            ...(sc === undefined ? {} : { ":sc": sc }),
            ":ua": ua,
            ":expected": expectedVersion,
          }))(sessionToItem(session)),
        }),
      );
      return "ok";
    } catch (error) {
      if (isConditionFailure(error)) return "conflict";
      throw error;
    }
  }

  async deactivateSession(
    key: SessionKey,
    ifLastSubmitAt?: { lastSubmitAt: number | undefined },
  ): Promise<void> {
    const guard =
      ifLastSubmitAt === undefined
        ? {}
        : ifLastSubmitAt.lastSubmitAt === undefined
          ? { condition: " AND attribute_not_exists(ls)" }
          : { condition: " AND ls = :ls", values: { ":ls": ifLastSubmitAt.lastSubmitAt } };
    try {
      // Guarantees: a deleted session is not re-created as a stub by this update; and with
      // `ifLastSubmitAt`, a session a submit marked since it was read stays active.
      // Its expiry counts from here: the reaper deactivates a session once its tasks settled,
      // so the record outlives its last results by the retention.
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: sessionPk(key), sk: SESSION_SK },
          UpdateExpression: `SET ${EXPIRES_AT} = :exp REMOVE apk, ask`,
          ConditionExpression: `attribute_exists(pk)${guard.condition ?? ""}`,
          ExpressionAttributeValues: { ...guard.values, ":exp": this.#expiresAt() },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async touchSession(key: SessionKey, now: number): Promise<void> {
    try {
      // Guarantees: the session is in the active index from before the caller's inserts.
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: sessionPk(key), sk: SESSION_SK },
          UpdateExpression: `SET ls = :now, apk = :apk, ask = :ask, ${EXPIRES_AT} = :exp`,
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeValues: {
            ":now": now,
            ":apk": activePk(key),
            ":ask": sessionPk(key),
            ":exp": this.#expiresAt(),
          },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async listSessions(tenant: string, limit: number, after?: string): Promise<SessionPage> {
    const start =
      after === undefined
        ? undefined
        : {
            tpk: tenantPk(tenant),
            tsk: after,
            pk: sessionPk({ tenant, sessionId: after.slice(14) }),
            sk: SESSION_SK,
          };
    const out = await this.#doc.send(
      new QueryCommand({
        TableName: this.#table,
        IndexName: TENANT_INDEX,
        KeyConditionExpression: "tpk = :t",
        ExpressionAttributeValues: { ":t": tenantPk(tenant) },
        ScanIndexForward: false,
        Limit: limit,
        ExclusiveStartKey: start,
      }),
    );
    const keys = (out.Items ?? []).map((i) => ({ pk: i.pk as string, sk: i.sk as string }));
    const found = await this.#batchGet(keys);
    const sessions = keys.flatMap((k) => {
      const item = found.get(itemId(k));
      return item ? [this.#toSession(item)] : [];
    });
    const last = out.LastEvaluatedKey?.tsk as string | undefined;
    return { sessions, next: last };
  }

  async listActiveSessions(shard: number): Promise<SessionKey[]> {
    const items = await this.#queryAll({
      IndexName: ACTIVE_INDEX,
      KeyConditionExpression: "apk = :a",
      ExpressionAttributeValues: { ":a": activeShardPk(shard) },
    });
    return items.map((i) => parseSessionPk(i.pk as string));
  }

  async getGroup(session: SessionKey, group: number): Promise<GroupRecord | undefined> {
    const out = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { pk: chunkPk(session, group), sk: GROUP_SK },
        ConsistentRead: true,
      }),
    );
    const item = out.Item;
    if (!item) return undefined;
    return {
      tenant: session.tenant,
      sessionId: session.sessionId,
      group,
      version: item.v as number,
      tasks: item.n as number,
      sealed: item.se === true,
    };
  }

  async insertChunks(
    session: SessionKey,
    group: number,
    expectedVersion: number | undefined,
    chunks: readonly ChunkRecord[],
  ): Promise<InsertResult> {
    if (chunks.length > MAX_INSERT_CHUNKS)
      throw new InvariantError(`at most ${MAX_INSERT_CHUNKS} chunks per insert`);
    const groupKey = { pk: chunkPk(session, group), sk: GROUP_SK };
    const tasks = chunks.reduce((n, c) => n + c.count, 0);
    const expiresAt = this.#expiresAt();
    const lock =
      expectedVersion === undefined
        ? [
            // Guarantees: a group is created only while the session is OPEN, so a close that
            // then seals every group in the directory leaves none unsealed.
            {
              ConditionCheck: {
                TableName: this.#table,
                Key: { pk: sessionPk(session), sk: SESSION_SK },
                ConditionExpression: "st = :open",
                ExpressionAttributeValues: { ":open": SessionState.OPEN },
              },
            },
            // Guarantees: a group and its directory entry are created once, together.
            {
              Put: {
                TableName: this.#table,
                Item: { ...groupKey, v: 1, n: tasks, [EXPIRES_AT]: expiresAt },
                ConditionExpression: "attribute_not_exists(pk)",
              },
            },
            {
              Put: {
                TableName: this.#table,
                Item: { pk: directoryPk(session), sk: directorySk(group), g: group, [EXPIRES_AT]: expiresAt },
              },
            },
          ]
        : [
            // Guarantees: the insert lands only on the group as the submitter read it (no other
            // insert in between, so its overlap check still holds) and never into a sealed group.
            {
              Update: {
                TableName: this.#table,
                Key: groupKey,
                UpdateExpression: `SET v = v + :one, ${EXPIRES_AT} = :exp ADD n :n`,
                ConditionExpression: "v = :v AND attribute_not_exists(se)",
                ExpressionAttributeValues: {
                  ":one": 1,
                  ":n": tasks,
                  ":v": expectedVersion,
                  ":exp": expiresAt,
                },
              },
            },
          ];
    const puts = chunks.map((chunk) => {
      if (groupOf(chunk.start) !== group)
        throw new InvariantError(`chunk ${chunk.start} is not in group ${group}`);
      return {
        Put: {
          TableName: this.#table,
          Item: { ...chunkToItem(chunk), [EXPIRES_AT]: expiresAt },
          ConditionExpression: "attribute_not_exists(pk)",
        },
      };
    });
    const shard = Math.floor(Math.random() * COUNTER_SHARDS);
    const count = counterUpdate(this.#table, session, shard, { tasks }, expiresAt);
    try {
      await this.#transact([...lock, ...puts, count]);
      return "ok";
    } catch (error) {
      if (
        expectedVersion === undefined &&
        error instanceof TransactionCanceledException &&
        error.CancellationReasons?.[0]?.Code === "ConditionalCheckFailed"
      )
        return "not-open";
      if (isConditionFailure(error)) return "conflict";
      throw error;
    }
  }

  async sealGroup(session: SessionKey, group: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        // Guarantees: once sealed, no insert lands (inserts require the group unsealed).
        await this.#doc.send(
          new UpdateCommand({
            TableName: this.#table,
            Key: { pk: chunkPk(session, group), sk: GROUP_SK },
            UpdateExpression: `SET se = :t, v = v + :one, ${EXPIRES_AT} = :exp`,
            ConditionExpression: "attribute_exists(pk) AND attribute_not_exists(se)",
            ExpressionAttributeValues: { ":t": true, ":one": 1, ":exp": this.#expiresAt() },
          }),
        );
        return;
      } catch (error) {
        // Sealed already (or no such group): done. An insert's transaction in flight on the
        // lock is not: the seal must land after it, or that group stays open.
        if (error instanceof ConditionalCheckFailedException) return;
        if (attempt >= SEAL_TRIES || !isTransactionConflict(error)) throw error;
        await new Promise((r) => setTimeout(r, Math.random() * 25 * 2 ** Math.min(attempt, 6)));
      }
    }
  }

  async listGroups(session: SessionKey, after: number | undefined, limit: number): Promise<GroupPage> {
    const pk = directoryPk(session);
    const out = await this.#doc.send(
      new QueryCommand({
        TableName: this.#table,
        KeyConditionExpression: after === undefined ? "pk = :pk" : "pk = :pk AND sk > :after",
        ExpressionAttributeValues:
          after === undefined ? { ":pk": pk } : { ":pk": pk, ":after": directorySk(after) },
        ProjectionExpression: "g",
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    const groups = (out.Items ?? []).map((i) => i.g as number);
    return { groups, next: out.LastEvaluatedKey ? groups.at(-1) : undefined };
  }

  async getChunks(keys: readonly ChunkKey[]): Promise<Array<ChunkRecord | undefined>> {
    const found = await this.#batchGet(keys.map(chunkItemKey));
    return keys.map((k) => {
      const item = found.get(itemId(chunkItemKey(k)));
      return item && itemToChunk(item);
    });
  }

  /** Reads items by key (strongly consistent), 100 per call, retrying unprocessed keys. */
  async #batchGet(keys: readonly { pk: string; sk: string }[]): Promise<Map<string, Item>> {
    const found = new Map<string, Item>();
    const unique = [...new Map(keys.map((k) => [itemId(k), k])).values()];
    for (let i = 0; i < unique.length; i += 100) {
      let request: Item[] | undefined = unique.slice(i, i + 100);
      for (let attempt = 0; request && request.length > 0; attempt++) {
        const out: BatchGetCommandOutput = await this.#doc.send(
          new BatchGetCommand({ RequestItems: { [this.#table]: { Keys: request, ConsistentRead: true } } }),
        );
        for (const item of out.Responses?.[this.#table] ?? [])
          found.set(itemId(item as { pk: string; sk: string }), item);
        request = out.UnprocessedKeys?.[this.#table]?.Keys;
        if (request && request.length > 0)
          await new Promise((r) => setTimeout(r, Math.min(1000, 20 * 2 ** attempt)));
      }
    }
    return found;
  }

  async findChunk(session: SessionKey, index: number): Promise<ChunkRecord | undefined> {
    const out = await this.#doc.send(
      new QueryCommand({
        TableName: this.#table,
        // From "C#": the group's lock item sorts before every chunk.
        KeyConditionExpression: "pk = :pk AND sk BETWEEN :c AND :sk",
        ExpressionAttributeValues: {
          ":pk": chunkPk(session, groupOf(index)),
          ":c": "C#",
          ":sk": chunkSk(index),
        },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    const item = out.Items?.[0];
    const chunk = item ? itemToChunk(item) : undefined;
    return chunk && index < chunk.start + chunk.count ? chunk : undefined;
  }

  async listChunks(session: SessionKey, group: number): Promise<ChunkRecord[]> {
    const items = await this.#queryAll({
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :c)",
      ExpressionAttributeValues: { ":pk": chunkPk(session, group), ":c": "C#" },
      ConsistentRead: true,
    });
    return items.map(itemToChunk);
  }

  async listChunksIn(session: SessionKey, group: number, from: number, to: number): Promise<ChunkRecord[]> {
    const items = await this.#queryAll({
      KeyConditionExpression: "pk = :pk AND sk BETWEEN :lo AND :hi",
      ExpressionAttributeValues: {
        ":pk": chunkPk(session, group),
        ":lo": chunkSk(Math.max(groupStart(group), from - MAX_CHUNK_TASKS)),
        ":hi": chunkSk(to - 1),
      },
      ConsistentRead: true,
    });
    return items.map(itemToChunk).filter((c) => c.start < to && c.start + c.count > from);
  }

  async writeChunks(writes: readonly ChunkWrite[]): Promise<ChunkWriteResult[]> {
    // The writes of one call run at once, each worker of the call on its own counter shard (at
    // most WRITE_CONCURRENCY = COUNTER_SHARDS workers), so they never clash with one another;
    // a random starting shard spreads concurrent writers.
    const base = Math.floor(Math.random() * COUNTER_SHARDS);
    return mapLimit(writes, WRITE_CONCURRENCY, async (w, _i, worker): Promise<ChunkWriteResult> => {
      try {
        return await this.#writeChunk(w, (base + worker) % COUNTER_SHARDS);
      } catch (error) {
        if (error instanceof InvariantError) throw error;
        return "error"; // throttled, timed out, answer lost: it may have landed
      }
    });
  }

  async #writeChunk(w: ChunkWrite, shard: number): Promise<WriteResult> {
    if (w.chunk.version !== w.expectedVersion + 1) {
      throw new InvariantError(
        `chunk write must bump the version by one (${w.expectedVersion} → ${w.chunk.version})`,
      );
    }
    // Guarantees: the write lands only on the version its transition was computed from, so a
    // claim, heartbeat or commit decided on a stale read never lands; with the (owner, fence)
    // check of the transition this fences out a worker whose lease was taken over.
    const expiresAt = this.#expiresAt();
    const put = {
      TableName: this.#table,
      Item: { ...chunkToItem(w.chunk), [EXPIRES_AT]: expiresAt },
      ConditionExpression: "v = :expected",
      ExpressionAttributeValues: { ":expected": w.expectedVersion },
    };
    const delta = counterDelta(w.before, w.chunk.slots);
    const items = [
      { Put: put },
      // The completion entry commits atomically with the record: a result is visible to
      // readers if and only if the write that made its task terminal landed.
      ...(w.completion
        ? [
            {
              Put: {
                TableName: this.#table,
                Item: { ...completionToItem(w.completion), [EXPIRES_AT]: expiresAt },
                ConditionExpression: "attribute_not_exists(pk)",
              },
            },
          ]
        : []),
      // So do the failed runs it sent back to the queue (a retried task's earlier runs).
      ...(w.failedRuns
        ? [
            {
              Put: {
                TableName: this.#table,
                Item: { ...failedRunsToItem(w.failedRuns), [EXPIRES_AT]: expiresAt },
              },
            },
          ]
        : []),
      // The session's counters move with the slots, in the same write: counts stay exact.
      ...(Object.keys(delta).length > 0
        ? [counterUpdate(this.#table, w.chunk, shard, delta, expiresAt)]
        : []),
    ];
    try {
      if (items.length === 1) await this.#doc.send(new PutCommand(put));
      else await this.#transact(items);
      return "ok";
    } catch (error) {
      if (isConditionFailure(error)) return "conflict";
      throw error;
    }
  }

  /**
   * Runs a transaction, trying again (with jitter) when only a concurrent transaction on one of
   * its items cancelled it: counters shards are shared by a session's chunks, and such a clash
   * says nothing about the chunk. A failed condition is the caller's to handle.
   */
  async #transact(
    items: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]["TransactItems"]>,
  ) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#doc.send(new TransactWriteCommand({ TransactItems: items }));
      } catch (error) {
        if (attempt >= CONFLICT_TRIES || !isTransactionConflict(error)) throw error;
        await new Promise((r) => setTimeout(r, Math.random() * 25 * 2 ** attempt));
      }
    }
  }

  async getCounters(session: SessionKey): Promise<SlotCounters> {
    const keys = Array.from({ length: COUNTER_SHARDS }, (_, shard) => ({
      pk: counterPk(session, shard),
      sk: COUNTER_SK,
    }));
    const found = await this.#batchGet(keys);
    const total = zeroCounters();
    for (const item of found.values())
      for (const [k, a] of Object.entries(COUNTER_ATTRIBUTE) as [keyof SlotCounters, string][])
        total[k] += (item[a] as number | undefined) ?? 0;
    return total;
  }

  async listDueChunks(session: SessionKey, group: number, dueBy: number, limit: number): Promise<ChunkKey[]> {
    const finite = Number.isFinite(dueBy);
    const items = await this.#queryAll(
      {
        IndexName: DUE_INDEX,
        KeyConditionExpression: finite ? "dpk = :g AND due <= :d" : "dpk = :g",
        ExpressionAttributeValues: finite
          ? { ":g": chunkPk(session, group), ":d": dueBy }
          : { ":g": chunkPk(session, group) },
      },
      limit,
    );
    return items.map(chunkKeyOf);
  }

  async readCompletions(
    session: SessionKey,
    group: number,
    after: string | undefined,
    limit: number,
  ): Promise<CompletionPage> {
    const pk = completionPk(session, group);
    const out = await this.#doc.send(
      new QueryCommand({
        TableName: this.#table,
        KeyConditionExpression: after === undefined ? "pk = :pk" : "pk = :pk AND sk > :after",
        ExpressionAttributeValues: after === undefined ? { ":pk": pk } : { ":pk": pk, ":after": after },
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    const entries = (out.Items ?? []).map(itemToCompletion);
    return { entries, next: out.LastEvaluatedKey ? entries.at(-1)?.sortKey : undefined };
  }

  async getCompletion(
    session: SessionKey,
    group: number,
    sortKey: string,
  ): Promise<CompletionEntry | undefined> {
    const out = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: { pk: completionPk(session, group), sk: sortKey },
        ConsistentRead: true,
      }),
    );
    return out.Item ? itemToCompletion(out.Item) : undefined;
  }

  async putCompletion(entry: CompletionEntry): Promise<void> {
    try {
      // Guarantees: an entry is never overwritten.
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: { ...completionToItem(entry), [EXPIRES_AT]: this.#expiresAt() },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async addUsage(
    session: SessionKey,
    shard: number,
    counters: Readonly<Record<string, number>>,
  ): Promise<void> {
    const entries = Object.entries(counters).filter(([, v]) => v !== 0 && Number.isFinite(v));
    if (entries.length === 0) return;
    // ADD is commutative: concurrent writers never lose one another's counts.
    await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: { pk: usagePk(session, shard), sk: USAGE_SK },
        UpdateExpression: `SET ${EXPIRES_AT} = :exp ADD ${entries.map((_, i) => `#n${i} :v${i}`).join(", ")}`,
        ExpressionAttributeNames: Object.fromEntries(entries.map(([k], i) => [`#n${i}`, k])),
        ExpressionAttributeValues: {
          ...Object.fromEntries(entries.map(([, v], i) => [`:v${i}`, v])),
          ":exp": this.#expiresAt(),
        },
      }),
    );
  }

  async getUsage(session: SessionKey): Promise<Record<string, number>> {
    const keys = Array.from({ length: USAGE_SHARDS }, (_, shard) => ({
      pk: usagePk(session, shard),
      sk: USAGE_SK,
    }));
    const found = await this.#batchGet(keys);
    const total: Record<string, number> = {};
    for (const item of found.values())
      for (const [k, v] of Object.entries(item))
        if (k !== "pk" && k !== "sk" && k !== EXPIRES_AT && typeof v === "number")
          total[k] = (total[k] ?? 0) + v;
    return total;
  }

  async renewGroups(session: SessionKey, groups: readonly number[]): Promise<void> {
    const keys = groups.flatMap((g) => [
      { pk: chunkPk(session, g), sk: GROUP_SK },
      { pk: directoryPk(session), sk: directorySk(g) },
    ]);
    await mapLimit(keys, RENEW_CONCURRENCY, (key) => this.#renew(key));
  }

  async renewSession(session: SessionKey, since: number): Promise<void> {
    const shards = [
      ...Array.from({ length: COUNTER_SHARDS }, (_, s) => ({ pk: counterPk(session, s), sk: COUNTER_SK })),
      ...Array.from({ length: USAGE_SHARDS }, (_, s) => ({ pk: usagePk(session, s), sk: USAGE_SK })),
    ];
    await mapLimit(shards, RENEW_CONCURRENCY, (key) => this.#renew(key));
    // Last: the mark says everything was renewed, so it must not land before the rest did.
    await this.#renew({ pk: sessionPk(session), sk: SESSION_SK }, since);
  }

  /** Pushes back an item's expiry (and sets the session's renewal mark), if the item exists. */
  async #renew(key: { pk: string; sk: string }, renewedAt?: number): Promise<void> {
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: key,
          UpdateExpression: `SET ${EXPIRES_AT} = :exp${renewedAt === undefined ? "" : `, ${RENEWED_AT} = :rn`}`,
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeValues: {
            ":exp": this.#expiresAt(),
            ...(renewedAt === undefined ? {} : { ":rn": renewedAt }),
          },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async readFailedRuns(
    session: SessionKey,
    group: number,
    chunkStart: number,
    limit: number,
  ): Promise<FailedRunsEntry[]> {
    const items = await this.#queryAll(
      {
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :chunk)",
        ExpressionAttributeValues: {
          ":pk": failedRunsPk(session, group),
          ":chunk": `${failedRunsSk(chunkStart, 0).split("#")[0]}#`,
        },
        ScanIndexForward: false,
        // Read with the chunk (strongly): a run the chunk counts is not missing from its view.
        ConsistentRead: true,
      },
      limit,
    );
    return items.map(itemToFailedRuns);
  }

  async addHistory(session: SessionKey, point: HistoryPoint): Promise<void> {
    await this.#doc.send(
      new PutCommand({
        TableName: this.#table,
        Item: { ...historyToItem(session, point), [EXPIRES_AT]: this.#expiresAt() },
      }),
    );
  }

  async readHistory(session: SessionKey, limit: number): Promise<HistoryPoint[]> {
    const items = await this.#queryAll(
      {
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": historyPk(session) },
        ScanIndexForward: false,
      },
      limit,
    );
    return items.map(itemToHistory);
  }

  async #queryAll(
    input: Omit<QueryCommandInput, "TableName">,
    limit = Number.POSITIVE_INFINITY,
  ): Promise<Item[]> {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const out = await this.#doc.send(
        new QueryCommand({
          ...input,
          TableName: this.#table,
          ExclusiveStartKey: start,
          ...(Number.isFinite(limit) ? { Limit: limit - items.length } : {}),
        }),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start && items.length < limit);
    return items;
  }
}
