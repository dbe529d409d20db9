import type { SessionKey, TaskOutcome } from "../model/records.ts";
import type { GridPorts } from "./grid-ports.ts";
import { readResultsPage } from "./results-page.ts";

/** Options of a results reader. */
export interface ResultsReaderOptions {
  /** Re-read window below the newest commit read (see ResultsPageOptions). @default 5000 */
  overlapMs?: number;
  /** Outcomes per page read. @default 1000 */
  pageSize?: number;
}

/**
 * Streams a session's task outcomes as they complete, in process: a thin loop over
 * {@link readResultsPage} (the path the HTTP API serves), keeping the cursor between polls, so
 * tests and benchmarks exercise the production reader. Each outcome is delivered once.
 */
export class ResultsReader {
  readonly #ports: GridPorts;
  readonly #key: SessionKey;
  readonly #options: ResultsReaderOptions;
  #cursor: string | undefined;
  #settled = false;

  constructor(ports: GridPorts, key: SessionKey, options: ResultsReaderOptions = {}) {
    this.#ports = ports;
    this.#key = key;
    this.#options = options;
  }

  /** True once the session is sealed and every outcome was delivered. */
  get settled(): boolean {
    return this.#settled;
  }

  /** Outcomes committed since the previous poll (every page available now). */
  async poll(): Promise<TaskOutcome[]> {
    const out: TaskOutcome[] = [];
    const limit = this.#options.pageSize ?? 1_000;
    for (;;) {
      const page = await readResultsPage(this.#ports, this.#key, {
        cursor: this.#cursor,
        limit,
        overlapMs: this.#options.overlapMs,
      });
      this.#cursor = page.cursor;
      this.#settled = page.settled;
      out.push(...page.outcomes);
      if (page.outcomes.length < limit) return out;
    }
  }
}
