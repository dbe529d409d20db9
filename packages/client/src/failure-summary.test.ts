import { describe, expect, it } from "vitest";
import { summarizeFailures } from "./failure-summary.ts";
import type { TaskResult } from "./result-stream.ts";

async function* results(list: TaskResult<unknown>[]) {
  yield* list;
}

const failed = (index: number, code: string): TaskResult<unknown> => ({
  taskId: String(index),
  index,
  status: code === "CANCELLED" ? "CANCELLED" : "FAILED",
  attempt: 1,
  error: { code, message: `${code} at ${index}` },
});

describe("summarizeFailures", () => {
  it("groups failed and cancelled tasks by code, most frequent first, keeping the first few of each", async () => {
    const list = [
      { taskId: "0", index: 0, status: "SUCCEEDED", attempt: 1, output: 0 } as const,
      failed(1, "TIMEOUT"),
      failed(2, "TASK_ERROR"),
      failed(3, "TASK_ERROR"),
      failed(4, "CANCELLED"),
      failed(5, "TASK_ERROR"),
      failed(6, "TASK_ERROR"),
    ];
    const summary = await summarizeFailures(results(list), { examples: 2 });
    expect(summary.failed).toBe(5);
    expect(summary.cancelled).toBe(1);
    expect(summary.byCode.map((g) => [g.code, g.count, g.examples.map((e) => e.index)])).toEqual([
      ["TASK_ERROR", 4, [2, 3]],
      ["CANCELLED", 1, [4]],
      ["TIMEOUT", 1, [1]],
    ]);
    expect(summary.byCode[0]!.examples[0]).toEqual({
      taskId: "2",
      index: 2,
      status: "FAILED",
      attempt: 1,
      message: "TASK_ERROR at 2",
    });
  });
});
