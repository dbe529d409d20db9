import { describe, expect, it } from "vitest";
import { agentTaskLogGroupName, logRetentionDays } from "./task-logs.ts";

describe("task log groups", () => {
  it("keep entries at least as long as the grid's retention, in a retention CloudWatch Logs offers", () => {
    expect([1, 2, 30, 31, 365, 366, 5000].map((d) => logRetentionDays(d))).toEqual([
      1, 3, 30, 60, 365, 400, 3653,
    ]);
  });

  it("name the agents' group after the grid", () => {
    expect(agentTaskLogGroupName("tessera-prod")).toBe("/tessera/tessera-prod/agent-tasks");
  });
});
