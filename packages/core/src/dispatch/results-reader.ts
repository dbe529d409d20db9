import { completionId } from "../engine/completions.ts";
import { pad } from "../engine/keys.ts";
import type { SessionKey, TaskOutcome } from "../model/records.ts";
import { getOrCreate } from "../util.ts";
import type { GridPorts } from "./grid-ports.ts";
import { getSession } from "./sessions.ts";
import { resolveResults } from "./tasks.ts";

/** Options of a results reader. */
export interface ResultsReaderOptions {
  /**
   * How far back each poll re-reads, to catch commits that landed after a later-stamped one
   * (writer clocks and write latency). Commits slower than LATE_COMMIT_MS are re-published.
   * @default 5000
   */
  overlapMs?: number;
  /** Entries per store read. @default 200 */
  pageSize?: number;
}

interface GroupCursor {
  /** Highest commit time seen. */
  horizon: number;
  /** Entry ids seen within the overlap window. */
  seen: Map<string, number>;
}

/**
 * Streams a session's task outcomes as they complete. Each poll reads, per key group, only the
 * completion entries committed since the group's cursor (less the overlap window), so its work
 * follows the new results, never the size of the session. Outcomes are delivered once.
 */
export class ResultsReader {
  readonly #ports: GridPorts;
  readonly #key: SessionKey;
  readonly #overlapMs: number;
  readonly #pageSize: number;
  readonly #cursors = new Map<number, GroupCursor>();
  readonly #skip = new Set<number>();

  constructor(ports: GridPorts, key: SessionKey, options: ResultsReaderOptions = {}) {
    this.#ports = ports;
    this.#key = key;
    this.#overlapMs = options.overlapMs ?? 5_000;
    this.#pageSize = options.pageSize ?? 200;
  }

  /** Stops reading a group whose tasks the caller has all received. */
  skipGroup(group: number): void {
    this.#skip.add(group);
  }

  /** Outcomes committed since the previous poll. */
  async poll(): Promise<TaskOutcome[]> {
    const session = await getSession(this.#ports, this.#key);
    const out: TaskOutcome[] = [];
    for (let group = 0; group < session.groups; group++) {
      if (!this.#skip.has(group)) await this.#pollGroup(group, out);
    }
    return out;
  }

  async #pollGroup(group: number, out: TaskOutcome[]): Promise<void> {
    const cursor = getOrCreate(this.#cursors, group, () => ({
      horizon: -1,
      seen: new Map<string, number>(),
    }));
    let after = cursor.horizon < 0 ? undefined : pad(Math.max(0, cursor.horizon - this.#overlapMs), 13);
    for (;;) {
      const page = await this.#ports.store.readCompletions(this.#key, group, after, this.#pageSize);
      for (const entry of page.entries) {
        // Positions follow the sort key's time: a re-published copy keeps its old committedAt.
        const at = Number(entry.sortKey.slice(0, 13));
        cursor.horizon = Math.max(cursor.horizon, at);
        const id = completionId(entry);
        if (cursor.seen.has(id)) {
          cursor.seen.set(id, Math.max(cursor.seen.get(id)!, at));
          continue;
        }
        cursor.seen.set(id, at);
        out.push(...(await resolveResults(this.#ports, entry)));
      }
      if (!page.next) break;
      after = page.next;
    }
    // Seen ids are kept for the life of the reader: a group holds at most GROUP_SIZE tasks, so
    // the set is bounded, and a re-published copy may arrive long after its original.
  }
}
