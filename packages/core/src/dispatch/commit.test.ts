import { describe, expect, it } from "vitest";
import { failedRunsToItem } from "../adapters/aws/dynamo-items.ts";
import { boundedRuns, FAILED_RUN_MESSAGE_CHARS, FAILED_RUNS_MAX_BYTES } from "./commit.ts";

describe("failed runs as stored", () => {
  const runs = (n: number, message: string) =>
    Array.from({ length: n }, (_, index) => ({
      index,
      attempt: 1,
      error: { code: "HANDLER_ERROR", message },
      ms: 12,
    }));

  it("cuts each message to its character cap, and leaves short ones alone", () => {
    const [long, short] = boundedRuns([...runs(1, "x".repeat(500)), ...runs(1, "short")]);
    expect(long!.error!.message).toBe(`${"x".repeat(FAILED_RUN_MESSAGE_CHARS)}…`);
    expect(short!.error!.message).toBe("short");
  });

  it("keeps a chunk of 500 failing tasks with escaped messages well inside a DynamoDB item", () => {
    // ANSI-coloured stack traces: each control character takes 6 bytes of JSON.
    const out = boundedRuns(runs(500, "\u001b[31m".repeat(100)));
    expect(Buffer.byteLength(JSON.stringify(out))).toBeLessThanOrEqual(FAILED_RUNS_MAX_BYTES);
    expect(out.every((r) => r.error!.code === "HANDLER_ERROR" && r.error!.message.length > 0)).toBe(true);
    const item = failedRunsToItem({
      tenant: "t",
      sessionId: "s",
      group: 0,
      chunkStart: 0,
      version: 2,
      at: 0,
      runs: out,
    });
    expect(Buffer.byteLength(JSON.stringify(item))).toBeLessThan(100 * 1024);
  });
});
