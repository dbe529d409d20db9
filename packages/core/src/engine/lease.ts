import type { ChunkRecord } from "../model/records.ts";

/** True when the chunk is held by an owner whose lease has not expired. */
export function isLeaseLive(chunk: Pick<ChunkRecord, "owner" | "leaseUntil">, now: number): boolean {
  return chunk.owner !== undefined && chunk.leaseUntil !== undefined && chunk.leaseUntil > now;
}

/**
 * True when a held lease is due for extension: a third of its length has passed since it was
 * granted or last extended. A task that finishes within a third of its lease therefore
 * never writes a heartbeat.
 */
export function needsHeartbeat(chunk: Pick<ChunkRecord, "leasedAt" | "leaseMs">, now: number): boolean {
  return chunk.leasedAt !== undefined && now - chunk.leasedAt >= chunk.leaseMs / 3;
}

/**
 * Seconds of ticket invisibility that cover a lease of `leaseMs` plus a 2 s margin: a dead
 * worker's ticket comes back just after its lease ends (a live worker's heartbeat re-times it
 * first; one that comes back early finds the lease live and is re-timed to its end).
 */
export function leaseVisibilitySeconds(leaseMs: number): number {
  return Math.min(12 * 60 * 60, Math.ceil(leaseMs / 1000) + 2);
}

/** Seconds (at least 1, at most 12 h) until `until`, for ticket visibility changes. */
export function secondsUntil(until: number, now: number): number {
  return Math.min(12 * 60 * 60, Math.max(1, Math.ceil((until - now) / 1000)));
}
