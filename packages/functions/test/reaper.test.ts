import { ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, harness } from "./harness.ts";

describe("reaper function (scheduled)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness([]);
  });
  afterAll(() => h.close());

  it("turns a dead-lettered ticket into a FAILED task and reports the pass", async () => {
    await h.call("POST", "/sessions", { body: { sessionId: "dlq" } });
    await h.call("POST", "/sessions/dlq/tasks", { body: { tasks: [{ index: 0, payload: "{}" }] } });
    // The ticket as SQS would have moved it after too many receives.
    const { Messages } = await h.grid.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: h.grid.queueUrls["default-normal"], WaitTimeSeconds: 1 }),
    );
    expect(Messages).toHaveLength(1);
    await h.grid.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: h.grid.queueUrls["default-normal-dlq"],
        MessageBody: Messages![0]!.Body!,
      }),
    );
    const report = await h.reap();
    expect(report).toMatchObject({ deadLettered: 1, deadLetterMessages: 1, errors: 0 });
    const task = await h.call("GET", "/sessions/dlq/tasks/0");
    expect(task.body).toMatchObject({ status: "FAILED", error: { code: "DEAD_LETTERED" } });
    const results = await h.call("GET", "/sessions/dlq/results");
    expect(results.body.results).toMatchObject([{ taskId: "0", status: "FAILED" }]);
  });
});
