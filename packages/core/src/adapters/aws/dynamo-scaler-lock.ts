/**
 * The fleet scaler's lock as one item of the grid's table. Reserved concurrency 1 would do the
 * same, but AWS keeps 10 of an account's concurrency unreserved, so it fails on accounts whose
 * quota is 10 (new accounts); a conditional write works everywhere and costs a write unit or two
 * per invocation.
 *
 * The item is `pk = LOCK#{name}`, `sk = LOCK`: every task-table partition key begins with `T#`
 * (engine/keys.ts), so it cannot collide with a session's items, and it has none of the index
 * key attributes (`dpk`, `apk`, `tpk`), so it lands in no index. Attributes: `owner` (the holder),
 * `expires` (epoch ms: the holder's time is over; 0 once released), `memory` (what the last
 * holder left for the next) and `expiresAt` (epoch s, the table's TTL attribute: an item no
 * scaler touched for a day vanishes).
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { ScalerLock, ScalerLockGrant } from "../../fleet/ports.ts";

/** Options of {@link DynamoScalerLock}. */
export interface DynamoScalerLockOptions {
  doc: DynamoDBDocumentClient;
  /** The grid's table. */
  table: string;
  /** Names the lock: one item per name. @default "fleet-scaler" */
  name?: string;
  /** Epoch ms. @default Date.now */
  now?: () => number;
}

/** How long an untouched lock item is kept before DynamoDB's TTL removes it, s. */
const ITEM_TTL_SECONDS = 24 * 60 * 60;

const NAMES = { "#owner": "owner", "#expires": "expires" } as const;

/** {@link ScalerLock} on a DynamoDB table (conditional writes). */
export class DynamoScalerLock implements ScalerLock {
  readonly #o: DynamoScalerLockOptions;
  readonly #key: { pk: string; sk: string };

  constructor(options: DynamoScalerLockOptions) {
    const name = options.name ?? "fleet-scaler";
    if (!/^[\w.-]{1,64}$/.test(name))
      throw new Error(`DynamoScalerLock name: letters, digits, "_", "." or "-", at most 64 (got "${name}")`);
    this.#o = options;
    this.#key = { pk: `LOCK#${name}`, sk: "LOCK" };
  }

  async acquire(owner: string, until: number): Promise<ScalerLockGrant | undefined> {
    checkOwner(owner);
    const now = (this.#o.now ?? Date.now)();
    if (!Number.isFinite(until) || until <= now)
      throw new Error(`ScalerLock.acquire until: an epoch ms in the future (got ${until})`);
    try {
      // An update, not a put: it keeps `memory` when a holder died without releasing.
      const out = await this.#o.doc.send(
        new UpdateCommand({
          TableName: this.#o.table,
          Key: this.#key,
          // Guarantees one holder: the item is new, released (expires 0), or its holder's time
          // is over. Of two scalers racing, the second's condition sees the first's `expires`.
          ConditionExpression: "attribute_not_exists(pk) OR #expires < :now",
          UpdateExpression: "SET #owner = :owner, #expires = :until, expiresAt = :ttl",
          ExpressionAttributeNames: NAMES,
          ExpressionAttributeValues: {
            ":now": now,
            ":owner": owner,
            ":until": until,
            ":ttl": Math.floor(now / 1_000) + ITEM_TTL_SECONDS,
          },
          ReturnValues: "ALL_OLD",
        }),
      );
      return { memory: out.Attributes?.memory };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  /**
   * What the last holder left, read without taking the lock (eventually consistent: a status
   * view, never a decision; see functions' scaler-lock.ts). undefined when none.
   */
  async peek(): Promise<unknown> {
    const out = await this.#o.doc.send(new GetCommand({ TableName: this.#o.table, Key: this.#key }));
    return out.Item?.memory;
  }

  async release(owner: string, memory?: unknown): Promise<void> {
    checkOwner(owner);
    const keep = memory !== undefined;
    try {
      await this.#o.doc.send(
        new UpdateCommand({
          TableName: this.#o.table,
          Key: this.#key,
          // Guarantees only the holder frees it: a scaler that outlived its time, whose lock was
          // taken over, cannot free (or overwrite the memory of) the one that holds it now.
          ConditionExpression: "#owner = :owner",
          UpdateExpression: `SET #expires = :zero${keep ? ", #memory = :memory" : ""} REMOVE #owner`,
          ExpressionAttributeNames: keep ? { ...NAMES, "#memory": "memory" } : NAMES,
          ExpressionAttributeValues: { ":owner": owner, ":zero": 0, ...(keep ? { ":memory": memory } : {}) },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}

function checkOwner(owner: string): void {
  if (typeof owner !== "string" || owner.length === 0 || owner.length > 256)
    throw new Error("ScalerLock owner: a non-empty string of at most 256 characters");
}
