/**
 * Why tasks failed, in a few lines: failed and cancelled tasks grouped by error code, with a
 * count and the first few of each. Memory is bounded by the number of distinct codes, whatever
 * the number of failures.
 */
import type { TaskResult } from "./result-stream.ts";

/** One failed or cancelled task, as a summary shows it. */
export interface FailureExample {
  taskId: string;
  index: number;
  status: "FAILED" | "CANCELLED";
  attempt: number;
  message: string;
}

/** The failures of one error code. */
export interface FailureGroup {
  code: string;
  count: number;
  /** The first ones met (in the order the results stream delivered them). */
  examples: FailureExample[];
}

/** Failed and cancelled tasks by error code, most frequent code first. */
export interface FailureSummary {
  failed: number;
  cancelled: number;
  byCode: FailureGroup[];
}

/**
 * Summarizes the failed and cancelled tasks among `results` (others are ignored: pass
 * `session.results({ failuresOnly: true })` so succeeded outputs are not even fetched), keeping
 * `examples` of each error code.
 */
export async function summarizeFailures(
  results: AsyncIterable<TaskResult<unknown>>,
  options: { examples?: number } = {},
): Promise<FailureSummary> {
  const keep = options.examples ?? 3;
  const groups = new Map<string, FailureGroup>();
  const summary: FailureSummary = { failed: 0, cancelled: 0, byCode: [] };
  for await (const r of results) {
    if (r.status === "SUCCEEDED") continue;
    if (r.status === "FAILED") summary.failed++;
    else summary.cancelled++;
    let group = groups.get(r.error.code);
    if (!group) {
      group = { code: r.error.code, count: 0, examples: [] };
      groups.set(r.error.code, group);
    }
    group.count++;
    if (group.examples.length < keep)
      group.examples.push({
        taskId: r.taskId,
        index: r.index,
        status: r.status,
        attempt: r.attempt,
        message: r.error.message,
      });
  }
  summary.byCode = [...groups.values()].sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));
  return summary;
}
