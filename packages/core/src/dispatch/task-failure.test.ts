import { describe, expect, it } from "vitest";
import { TaskFailure, taskFailureCode } from "./task-failure.ts";

describe("task failures with a code of their own", () => {
  it("gives the code of a TaskFailure, also from another copy of the class, and none otherwise", () => {
    expect(taskFailureCode(new TaskFailure("WORKER_CRASHED", "gone"))).toBe("WORKER_CRASHED");
    const copy = Object.assign(new Error("gone"), { name: "TaskFailure", code: "WORKER_CRASHED" });
    expect(taskFailureCode(copy)).toBe("WORKER_CRASHED");
    // Node's system errors carry codes too: they are handler errors, not codes to record.
    expect(taskFailureCode(Object.assign(new Error("no file"), { code: "ENOENT" }))).toBeUndefined();
    expect(
      taskFailureCode(Object.assign(new Error("x"), { name: "TaskFailure", code: "lower" })),
    ).toBeUndefined();
    expect(taskFailureCode("WORKER_CRASHED")).toBeUndefined();
    expect(taskFailureCode(null)).toBeUndefined();
  });

  it("refuses a code that is not upper-case words", () => {
    expect(() => new TaskFailure("worker crashed", "x")).toThrow('task failure code "worker crashed"');
  });
});
