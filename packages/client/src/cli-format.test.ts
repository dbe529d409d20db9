import { describe, expect, it } from "vitest";
import {
  describeInterruptedSubmit,
  formatEta,
  formatFailures,
  formatTable,
  logsCommand,
  resumeCommand,
} from "./cli-format.ts";

describe("formatEta", () => {
  it.each([
    [100, 0, "--"], // no rate yet: the first frame of a progress bar
    [100, Number.NaN, "--"],
    [100, Number.POSITIVE_INFINITY, "--"],
    [90, 2, "45s"],
    [725, 1, "12m05s"],
    [11_220, 1, "3h07m"],
  ])("%d left at %d/s → %s", (remaining, perSecond, text) => {
    expect(formatEta(remaining, perSecond)).toBe(text);
  });
});

describe("formatTable", () => {
  it("sizes each column to its widest cell, right-aligning the ones asked", () => {
    const id = "a".repeat(64);
    expect(
      formatTable(
        [
          [id, "OPEN", "$1.00"],
          ["b", "CANCELLED", "$10.00"],
        ],
        [2],
      ),
    ).toEqual([`${id}  OPEN        $1.00`, `b${" ".repeat(63)}  CANCELLED  $10.00`]);
  });
});

describe("resumeCommand", () => {
  it("keeps the arguments, replaces any --resume-from and quotes for a shell", () => {
    expect(
      resumeCommand(
        ["submit", "s", "my tasks.jsonl", "--resume-from", "10", "--resume-from=20", "--close"],
        40,
      ),
    ).toBe("tessera submit s 'my tasks.jsonl' --close --resume-from 40");
  });

  it("never prints a token given on the command line, and says to give it again", () => {
    const args = ["--token", "s3cret-token-value", "submit", "s", "--token=other-s3cret"];
    expect(resumeCommand(args, 7)).toBe("tessera submit s --resume-from 7");
    const lines = describeInterruptedSubmit("s", args, { first: 0, nextIndex: 7, fromStdin: false });
    expect(lines[1]).toBe(
      "  resume (with your --token: it is not printed): tessera submit s --resume-from 7",
    );
    expect(lines.join("\n")).not.toContain("s3cret");
  });
});

describe("formatFailures", () => {
  it("shows each code's count, its first tasks' first message lines, and how many more", () => {
    const example = (index: number) => ({
      taskId: String(index),
      index,
      status: "FAILED" as const,
      attempt: 3,
      message: `boom ${index}\n    at stack`,
    });
    expect(
      formatFailures("s", {
        failed: 5,
        cancelled: 0,
        byCode: [{ code: "TIMEOUT", count: 5, examples: [example(4), example(9)] }],
      }),
    ).toEqual([
      "failed or cancelled tasks by error code:",
      "  TIMEOUT: 5 tasks",
      "    task 4 (FAILED, attempt 3): boom 4",
      "    task 9 (FAILED, attempt 3): boom 9",
      "    … and 3 more",
      `every one: tessera results s | grep '"error"'`,
      "what a task logged: tessera logs s --task 4",
    ]);
    expect(formatFailures("s", { failed: 0, cancelled: 0, byCode: [] })).toEqual([]);
    // Cancelled tasks may never have run: no logs hint for them alone.
    const cancelled = { ...example(1), status: "CANCELLED" as const };
    expect(
      formatFailures("s", {
        failed: 0,
        cancelled: 1,
        byCode: [{ code: "CANCELLED", count: 1, examples: [cancelled] }],
      }).at(-1),
    ).toBe(`every one: tessera results s | grep '"error"'`);
  });

  it("quotes a session id the shell would split in the logs command", () => {
    expect(logsCommand("risk-0412", 7)).toBe("tessera logs risk-0412 --task 7");
    expect(logsCommand("a b", 0)).toBe("tessera logs 'a b' --task 0");
  });
});
