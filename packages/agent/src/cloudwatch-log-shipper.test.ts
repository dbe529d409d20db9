/**
 * The shipper with CloudWatch Logs out of reach (a real SDK client pointed at a closed port: no
 * emulator exists, and a mocked client would prove nothing): task execution never notices —
 * the sink never throws, entries are kept for later, one warning says so, and shutdown reports
 * what was not sent. Sending itself is not tested here.
 */
import { createServer } from "node:net";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { TaskLogEntry } from "@tessera/task";
import { describe, expect, it } from "vitest";
import { agentLogStreamName, CloudWatchLogShipper } from "./cloudwatch-log-shipper.ts";

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const entry: TaskLogEntry = {
  time: "2026-12-01T12:00:00.000Z",
  level: "info",
  message: "squaring",
  tenant: "acme",
  session: "s1",
  index: 3,
  attempt: 1,
  handler: "square",
  taskId: "s1#3",
};

describe("CloudWatchLogShipper", () => {
  it("names one stream per agent run, without the characters CloudWatch forbids", () => {
    const name = agentLogStreamName("ip-10-0-0-1.ec2.internal", new Date("2026-12-01T12:00:05.123Z"), 42);
    expect(name).toBe("agent/ip-10-0-0-1.ec2.internal/20261201T120005Z-42");
    expect(agentLogStreamName("a:b*c")).not.toMatch(/[:*]/);
  });

  it("keeps tasks running when CloudWatch Logs cannot be reached, and says so once", async () => {
    const client = new CloudWatchLogsClient({
      region: "us-east-1",
      endpoint: `http://127.0.0.1:${await closedPort()}`,
      credentials: { accessKeyId: "x", secretAccessKey: "x" },
      maxAttempts: 1,
    });
    const warnings: { message: string; fields?: Record<string, unknown> }[] = [];
    const shipper = new CloudWatchLogShipper({
      client,
      group: "/tessera/test/agent-tasks",
      stream: "agent/test/1",
      everyMs: 60_000,
      warn: (message, fields) => warnings.push({ message, fields }),
    });
    try {
      await shipper.start(); // the stream cannot be created: a warning, no throw
      for (let i = 0; i < 3; i++) expect(() => shipper.sink(entry)).not.toThrow();
      await shipper.flush();
      await shipper.flush();
      expect(warnings.map((w) => w.message)).toEqual(["cannot create the agent's task log stream"]);
      expect(warnings[0]!.fields).toMatchObject({ group: "/tessera/test/agent-tasks" });
      await shipper.close(2_000);
      expect(warnings.at(-1)).toEqual({
        message: "task log entries not sent to CloudWatch Logs",
        fields: { group: "/tessera/test/agent-tasks", stream: "agent/test/1", entries: 3 },
      });
    } finally {
      client.destroy();
    }
  });
});
