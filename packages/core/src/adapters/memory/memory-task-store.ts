import type { HistoryPoint } from "../../engine/history.ts";
import {
  activePk,
  chunkPk,
  completionPk,
  failedRunsPk,
  failedRunsSk,
  groupOf,
  sessionPk,
  tenantSk,
  USAGE_SHARDS,
  usagePk,
} from "../../engine/keys.ts";
import { counterDelta, type SlotCounters, zeroCounters } from "../../engine/progress.ts";
import { InvariantError } from "../../errors.ts";
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
import { getOrCreate } from "../../util.ts";

function cloneChunk(c: ChunkRecord): ChunkRecord {
  return { ...c, attempts: [...c.attempts], commits: [...c.commits] };
}

function cloneSession(s: SessionRecord): SessionRecord {
  return { ...s, config: { ...s.config }, tags: { ...s.tags } };
}

function cloneEntry(e: CompletionEntry): CompletionEntry {
  return { ...e, outcomes: e.outcomes.map((o) => ({ ...o })) };
}

/** First position in sorted `keys` whose key is greater than `after`. */
function upperBound(entries: readonly CompletionEntry[], after: string): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (entries[mid]!.sortKey <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First position in sorted `list` whose value is at least `value`. */
function lowerBound(list: readonly number[], value: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The task store in memory, with the same contract as the DynamoDB store (both run
 * `taskStoreContract`). Records are copied in and out, as a real store would.
 */
export class MemoryTaskStore implements TaskStore {
  readonly #sessions = new Map<string, SessionRecord>();
  readonly #active = new Map<string, Map<string, SessionKey>>();
  readonly #groups = new Map<string, Map<number, ChunkRecord>>();
  readonly #completions = new Map<string, CompletionEntry[]>();
  /** Failed-run entries by partition, then sort key. */
  readonly #failedRuns = new Map<string, Map<string, FailedRunsEntry>>();
  /** Group lock records by chunk partition key. */
  readonly #groupRecords = new Map<string, GroupRecord>();
  /** Task counters per session (one item here: shards only spread writes on DynamoDB). */
  readonly #counters = new Map<string, SlotCounters>();
  /** Group numbers per session, in order. */
  readonly #directory = new Map<string, number[]>();

  async createSession(session: SessionRecord): Promise<"created" | "exists"> {
    const pk = sessionPk(session);
    if (this.#sessions.has(pk)) return "exists";
    this.#sessions.set(pk, cloneSession(session));
    this.#activate(session);
    return "created";
  }

  #activate(key: SessionKey): void {
    const members = getOrCreate(this.#active, activePk(key), () => new Map<string, SessionKey>());
    members.set(sessionPk(key), { tenant: key.tenant, sessionId: key.sessionId });
  }

  async getSession(key: SessionKey): Promise<SessionRecord | undefined> {
    const s = this.#sessions.get(sessionPk(key));
    return s && cloneSession(s);
  }

  async writeSession(session: SessionRecord, expectedVersion: number): Promise<WriteResult> {
    const pk = sessionPk(session);
    const current = this.#sessions.get(pk);
    if (!current || current.version !== expectedVersion) return "conflict";
    // As in DynamoDB, a session write leaves lastSubmitAt (written by touchSession) alone.
    this.#sessions.set(pk, { ...cloneSession(session), lastSubmitAt: current.lastSubmitAt });
    return "ok";
  }

  async deactivateSession(
    key: SessionKey,
    ifLastSubmitAt?: { lastSubmitAt: number | undefined },
  ): Promise<void> {
    const current = this.#sessions.get(sessionPk(key));
    if (ifLastSubmitAt && current?.lastSubmitAt !== ifLastSubmitAt.lastSubmitAt) return;
    this.#active.get(activePk(key))?.delete(sessionPk(key));
  }

  async touchSession(key: SessionKey, now: number): Promise<void> {
    const current = this.#sessions.get(sessionPk(key));
    if (!current) return;
    current.lastSubmitAt = now;
    this.#activate(key);
  }

  async listSessions(tenant: string, limit: number, after?: string): Promise<SessionPage> {
    const mine = [...this.#sessions.values()]
      .filter((s) => s.tenant === tenant)
      .map((s) => ({ s, sk: tenantSk(s.createdAt, s.sessionId) }))
      .filter((e) => after === undefined || e.sk < after)
      .sort((a, b) => (a.sk < b.sk ? 1 : -1));
    const page = mine.slice(0, limit);
    return {
      sessions: page.map((e) => cloneSession(e.s)),
      next: mine.length > limit ? page.at(-1)!.sk : undefined,
    };
  }

  async listActiveSessions(shard: number): Promise<SessionKey[]> {
    return [...(this.#active.get(`A#${shard}`)?.values() ?? [])].map((k) => ({ ...k }));
  }

  #group(key: SessionKey, group: number, create = false): Map<number, ChunkRecord> | undefined {
    const pk = chunkPk(key, group);
    return create ? getOrCreate(this.#groups, pk, () => new Map()) : this.#groups.get(pk);
  }

  async getGroup(session: SessionKey, group: number): Promise<GroupRecord | undefined> {
    const g = this.#groupRecords.get(chunkPk(session, group));
    return g && { ...g };
  }

  async insertChunks(
    session: SessionKey,
    group: number,
    expectedVersion: number | undefined,
    chunks: readonly ChunkRecord[],
  ): Promise<InsertResult> {
    if (chunks.length > MAX_INSERT_CHUNKS)
      throw new InvariantError(`at most ${MAX_INSERT_CHUNKS} chunks per insert`);
    const pk = chunkPk(session, group);
    const current = this.#groupRecords.get(pk);
    if (expectedVersion === undefined) {
      if (current) return "conflict";
      if (this.#sessions.get(sessionPk(session))?.state !== SessionState.OPEN) return "not-open";
    } else if (!current || current.version !== expectedVersion || current.sealed) {
      return "conflict";
    }
    const g = this.#group(session, group, true)!;
    for (const c of chunks) {
      if (groupOf(c.start) !== group) throw new InvariantError(`chunk ${c.start} is not in group ${group}`);
      if (g.has(c.start)) return "conflict";
    }
    for (const c of chunks) g.set(c.start, cloneChunk(c));
    const tasks = chunks.reduce((n, c) => n + c.count, 0);
    this.#count(session, { tasks });
    if (current) {
      current.version++;
      current.tasks += tasks;
    } else {
      this.#groupRecords.set(pk, { ...session, group, version: 1, tasks, sealed: false });
      const list = getOrCreate(this.#directory, sessionPk(session), () => []);
      list.splice(lowerBound(list, group), 0, group);
    }
    return "ok";
  }

  async sealGroup(session: SessionKey, group: number): Promise<void> {
    const current = this.#groupRecords.get(chunkPk(session, group));
    if (current && !current.sealed) {
      current.sealed = true;
      current.version++;
    }
  }

  async listGroups(session: SessionKey, after: number | undefined, limit: number): Promise<GroupPage> {
    const list = this.#directory.get(sessionPk(session)) ?? [];
    const from = after === undefined ? 0 : lowerBound(list, after + 1);
    const groups = list.slice(from, from + limit);
    return { groups, next: from + limit < list.length ? groups.at(-1) : undefined };
  }

  async getChunks(keys: readonly ChunkKey[]): Promise<Array<ChunkRecord | undefined>> {
    return keys.map((k) => {
      const c = this.#group(k, groupOf(k.start))?.get(k.start);
      return c && cloneChunk(c);
    });
  }

  async findChunk(session: SessionKey, index: number): Promise<ChunkRecord | undefined> {
    const g = this.#group(session, groupOf(index));
    if (!g) return undefined;
    let best: ChunkRecord | undefined;
    for (const c of g.values()) if (c.start <= index && (!best || c.start > best.start)) best = c;
    return best && index < best.start + best.count ? cloneChunk(best) : undefined;
  }

  async listChunks(session: SessionKey, group: number): Promise<ChunkRecord[]> {
    const g = this.#group(session, group);
    if (!g) return [];
    return [...g.values()].sort((a, b) => a.start - b.start).map(cloneChunk);
  }

  async listChunksIn(session: SessionKey, group: number, from: number, to: number): Promise<ChunkRecord[]> {
    const g = this.#group(session, group);
    if (!g) return [];
    return [...g.values()]
      .filter((c) => c.start < to && c.start + c.count > from)
      .sort((a, b) => a.start - b.start)
      .map(cloneChunk);
  }

  async writeChunks(writes: readonly ChunkWrite[]): Promise<ChunkWriteResult[]> {
    return writes.map((w) => {
      if (w.chunk.version !== w.expectedVersion + 1) {
        throw new InvariantError(
          `chunk write must bump the version by one (${w.expectedVersion} → ${w.chunk.version})`,
        );
      }
      const g = this.#group(w.chunk, groupOf(w.chunk.start));
      const current = g?.get(w.chunk.start);
      if (!g || !current || current.version !== w.expectedVersion) return "conflict";
      if (current.slots !== w.before)
        throw new InvariantError(`chunk ${w.chunk.start}: the write's slots as read are not the stored ones`);
      if (w.completion && this.#hasCompletion(w.completion)) return "conflict";
      g.set(w.chunk.start, cloneChunk(w.chunk));
      if (w.completion) this.#addCompletion(w.completion);
      if (w.failedRuns) {
        const e = w.failedRuns;
        getOrCreate(this.#failedRuns, failedRunsPk(e, e.group), () => new Map()).set(
          failedRunsSk(e.chunkStart, e.version),
          structuredClone(e),
        );
      }
      this.#count(w.chunk, counterDelta(w.before, w.chunk.slots));
      return "ok";
    });
  }

  async listDueChunks(session: SessionKey, group: number, dueBy: number, limit: number): Promise<ChunkKey[]> {
    const g = this.#group(session, group);
    if (!g) return [];
    return [...g.values()]
      .filter((c) => c.due !== undefined && c.due <= dueBy)
      .sort((a, b) => a.due! - b.due! || a.start - b.start)
      .slice(0, limit)
      .map((c) => ({ tenant: c.tenant, sessionId: c.sessionId, start: c.start }));
  }

  #hasCompletion(entry: CompletionEntry): boolean {
    const list = this.#completions.get(completionPk(entry, entry.group));
    if (!list) return false;
    const at = upperBound(list, entry.sortKey) - 1;
    return at >= 0 && list[at]!.sortKey === entry.sortKey;
  }

  #addCompletion(entry: CompletionEntry): void {
    const list = getOrCreate(this.#completions, completionPk(entry, entry.group), () => []);
    list.splice(upperBound(list, entry.sortKey), 0, cloneEntry(entry));
  }

  async readCompletions(
    session: SessionKey,
    group: number,
    after: string | undefined,
    limit: number,
  ): Promise<CompletionPage> {
    const list = this.#completions.get(completionPk(session, group)) ?? [];
    const from = after === undefined ? 0 : upperBound(list, after);
    const entries = list.slice(from, from + limit).map(cloneEntry);
    const more = from + limit < list.length;
    return { entries, next: more ? entries.at(-1)?.sortKey : undefined };
  }

  async getCompletion(
    session: SessionKey,
    group: number,
    sortKey: string,
  ): Promise<CompletionEntry | undefined> {
    const list = this.#completions.get(completionPk(session, group)) ?? [];
    const at = upperBound(list, sortKey) - 1;
    return at >= 0 && list[at]!.sortKey === sortKey ? cloneEntry(list[at]!) : undefined;
  }

  async putCompletion(entry: CompletionEntry): Promise<void> {
    if (!this.#hasCompletion(entry)) this.#addCompletion(entry);
  }

  #count(session: SessionKey, delta: Partial<SlotCounters>): void {
    const c = getOrCreate(this.#counters, sessionPk(session), zeroCounters);
    for (const [k, v] of Object.entries(delta) as [keyof SlotCounters, number][]) c[k] += v;
  }

  async getCounters(session: SessionKey): Promise<SlotCounters> {
    return { ...(this.#counters.get(sessionPk(session)) ?? zeroCounters()) };
  }

  readonly #usage = new Map<string, Record<string, number>>();

  async addUsage(
    session: SessionKey,
    shard: number,
    counters: Readonly<Record<string, number>>,
  ): Promise<void> {
    const pk = usagePk(session, shard);
    const item = this.#usage.get(pk) ?? {};
    for (const [k, v] of Object.entries(counters))
      if (v !== 0 && Number.isFinite(v)) item[k] = (item[k] ?? 0) + v;
    this.#usage.set(pk, item);
  }

  async getUsage(session: SessionKey): Promise<Record<string, number>> {
    const total: Record<string, number> = {};
    for (let shard = 0; shard < USAGE_SHARDS; shard++)
      for (const [k, v] of Object.entries(this.#usage.get(usagePk(session, shard)) ?? {}))
        total[k] = (total[k] ?? 0) + v;
    return total;
  }

  async readFailedRuns(
    session: SessionKey,
    group: number,
    chunkStart: number,
    limit: number,
  ): Promise<FailedRunsEntry[]> {
    const prefix = failedRunsSk(chunkStart, 0).slice(0, 13);
    return [...(this.#failedRuns.get(failedRunsPk(session, group)) ?? [])]
      .filter(([sk]) => sk.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? 1 : -1))
      .slice(0, limit)
      .map(([, e]) => structuredClone(e));
  }

  readonly #history = new Map<string, Map<number, HistoryPoint>>();

  async addHistory(session: SessionKey, point: HistoryPoint): Promise<void> {
    getOrCreate(this.#history, sessionPk(session), () => new Map()).set(point.at, { ...point });
  }

  async readHistory(session: SessionKey, limit: number): Promise<HistoryPoint[]> {
    const points = [...(this.#history.get(sessionPk(session))?.values() ?? [])];
    return points
      .sort((a, b) => b.at - a.at)
      .slice(0, limit)
      .map((p) => ({ ...p }));
  }

  // Nothing here expires (a simulation's memory goes with its process): no session is ever
  // `renewDue`, and renewing changes nothing. DynamoDB's expiry is tested on DynamoDB Local.
  async renewGroups(_session: SessionKey, _groups: readonly number[]): Promise<void> {}

  async renewSession(_session: SessionKey, _since: number): Promise<void> {}
}
