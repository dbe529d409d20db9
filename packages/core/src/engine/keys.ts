/**
 * Key layout of the task table. Pure: every key is a function of ids and numbers.
 *
 * | item             | pk                                  | sk                          |
 * |------------------|-------------------------------------|-----------------------------|
 * | session          | `T#{tenant}#S#{session}`            | `#SESSION`                  |
 * | chunk            | `T#{tenant}#S#{session}#G#{group}`  | `C#{start:12}`              |
 * | completion entry | `T#{tenant}#S#{session}#R#{group}`  | `{time:13}#{start:12}#{seq:3}` |
 * | failed runs      | `T#{tenant}#S#{session}#F#{group}`  | `{start:12}#{version:9}`    |
 * | usage counters   | `T#{tenant}#S#{session}#U#{shard}`  | `#USAGE`                    |
 * | history snapshot | `T#{tenant}#S#{session}#H`          | `{time:13}`                 |
 *
 * No partition key takes writes in proportion to a session's size: a group holds at most
 * GROUP_SIZE tasks, and the session record is written once per group, not per task.
 * Index keys: `due` (dpk = chunk pk, due) lists a group's non-terminal chunks by the time the
 * reaper must look at them; `active` (apk = `A#{shard}`, ask) lists sessions that may still have
 * work, spread over ACTIVE_SHARDS keys; `tenant` (tpk = `T#{tenant}`, tsk = `{createdAt:13}#{session}`)
 * lists a tenant's sessions by creation time. It takes one write per session created: bounded by
 * how fast a tenant creates sessions, never by their size.
 */
import { Limits } from "../model/limits.ts";
import type { ChunkKey, SessionKey } from "../model/records.ts";

/** Shards of the active-sessions index. */
export const ACTIVE_SHARDS = 8;

/** Zero-pads a non-negative integer. */
export function pad(value: number, width: number): string {
  return String(value).padStart(width, "0");
}

/** Key group of a task index. */
export function groupOf(index: number): number {
  return Math.floor(index / Limits.GROUP_SIZE);
}

/** First task index of a group. */
export function groupStart(group: number): number {
  return group * Limits.GROUP_SIZE;
}

/** Partition key of a session record. */
export function sessionPk(key: SessionKey): string {
  return `T#${key.tenant}#S#${key.sessionId}`;
}

/** Sort key of a session record. */
export const SESSION_SK = "#SESSION";

/** Partition key of the chunks of a group (also the `due` index partition). */
export function chunkPk(key: SessionKey, group: number): string {
  return `${sessionPk(key)}#G#${group}`;
}

/** Sort key of a chunk record. */
export function chunkSk(start: number): string {
  return `C#${pad(start, 12)}`;
}

/** Sort key of a group's lock item, in the group's chunk partition (sorts before every chunk). */
export const GROUP_SK = "#GROUP";

/** Partition key of a session's group directory: one entry per group, written when it is created. */
export function directoryPk(key: SessionKey): string {
  return `${sessionPk(key)}#D`;
}

/** Sort key of a group in the directory. */
export function directorySk(group: number): string {
  return pad(group, 9);
}

/** Partition key of the completion entries of a group. */
export function completionPk(key: SessionKey, group: number): string {
  return `${sessionPk(key)}#R#${group}`;
}

/** Sort key of a completion entry: ordered by commit time, unique per chunk write. */
export function completionSk(committedAt: number, chunkStart: number, seq: number): string {
  return `${pad(committedAt, 13)}#${pad(chunkStart, 12)}#${pad(seq, 3)}`;
}

/** Partition key of the failed-run entries of a group (see FailedRunsEntry). */
export function failedRunsPk(key: SessionKey, group: number): string {
  return `${sessionPk(key)}#F#${group}`;
}

/** Sort key of a failed-run entry: by chunk, then by the chunk version that wrote it. */
export function failedRunsSk(chunkStart: number, version: number): string {
  return `${pad(chunkStart, 12)}#${pad(version, 9)}`;
}

/**
 * Shards of a session's task counters. Counters are sums, so a write may count on any shard:
 * the writes a writer makes at once go to different shards, so concurrent transactions spread
 * over them; a status read sums them all (a fixed few reads, whatever the session's size).
 */
export const COUNTER_SHARDS = 16;

/** Partition key of one shard of a session's task counters. */
export function counterPk(key: SessionKey, shard: number): string {
  return `${sessionPk(key)}#N#${shard}`;
}

/** Sort key of a task counters item. */
export const COUNTER_SK = "#COUNTS";

/** Shards of a session's usage counters: writers spread over them (no hot key). */
export const USAGE_SHARDS = 16;

/** Partition key of one shard of a session's usage counters. */
export function usagePk(key: SessionKey, shard: number): string {
  return `${sessionPk(key)}#U#${shard}`;
}

/** Sort key of a usage counters item. */
export const USAGE_SK = "#USAGE";

/**
 * Partition key of a session's history snapshots. One key per session takes the reaper's few
 * snapshot writes a minute, never writes in proportion to the session's size or throughput.
 */
export function historyPk(key: SessionKey): string {
  return `${sessionPk(key)}#H`;
}

/** Sort key of a history snapshot: its time. */
export function historySk(at: number): string {
  return pad(at, 13);
}

/**
 * Blob key of a chunk's payloads. It names the chunk's digest: two different batches racing for
 * the same indexes write different objects, so the loser can never overwrite the winner's.
 */
export function payloadBlobKey(key: ChunkKey, digest: string): string {
  return `t/${key.tenant}/s/${key.sessionId}/p/${pad(key.start, 12)}-${digest}.json`;
}

/** Blob key of a payload uploaded directly by a client (an upload id of the session). */
export function uploadBlobKey(key: SessionKey, ref: string): string {
  return `t/${key.tenant}/s/${key.sessionId}/u/${ref}`;
}

/** Blob key of one large result of a task attempt. */
export function largeResultBlobKey(key: SessionKey, index: number, attempt: number): string {
  return `t/${key.tenant}/s/${key.sessionId}/o/${pad(index, 12)}-${attempt}`;
}

/** Blob key of the results of one completion entry. */
export function resultsBlobKey(key: SessionKey, sortKey: string): string {
  return `t/${key.tenant}/s/${key.sessionId}/r/${sortKey.replaceAll("#", "-")}.json`;
}

/** FNV-1a 32-bit hash: a stable, dependency-free spread for shard choice. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Partition key of a tenant's sessions in the tenant index. */
export function tenantPk(tenant: string): string {
  return `T#${tenant}`;
}

/** Sort key of a session in the tenant index: creation order, then id. */
export function tenantSk(createdAt: number, sessionId: string): string {
  return `${pad(createdAt, 13)}#${sessionId}`;
}

/** Partition key of a session in the active-sessions index. */
export function activePk(key: SessionKey): string {
  return `A#${fnv1a(`${key.tenant}#${key.sessionId}`) % ACTIVE_SHARDS}`;
}

/** Partition key of an active-sessions shard. */
export function activeShardPk(shard: number): string {
  return `A#${shard}`;
}

/** Logical name of the ticket queue of a pool and priority class. */
export function queueNameOf(pool: string, priority: string): string {
  return `${pool}-${priority}`;
}

/** Logical name of the dead-letter queue behind a ticket queue. */
export function deadLetterQueueOf(queue: string): string {
  return `${queue}-dlq`;
}
