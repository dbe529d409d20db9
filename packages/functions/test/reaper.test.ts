import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { decodeTicket } from "@tessera/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, harness } from "./harness.ts";

describe("reaper function (scheduled)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness([]);
  });
  afterAll(() => h.close());

  it("queues a dead-lettered ticket's task again (it has attempts left) and reports the pass", async () => {
    await h.call("POST", "/sessions", { body: { sessionId: "dlq" } });
    await h.call("POST", "/sessions/dlq/tasks", { body: { tasks: [{ index: 0, payload: "{}" }] } });
    // The ticket as SQS would have moved it after too many receives (minutes of throttling).
    const { Messages } = await h.grid.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: h.grid.queueUrls["default-normal"], WaitTimeSeconds: 1 }),
    );
    expect(Messages).toHaveLength(1);
    await h.grid.clients.sqs.send(
      new DeleteMessageCommand({
        QueueUrl: h.grid.queueUrls["default-normal"],
        ReceiptHandle: Messages![0]!.ReceiptHandle!,
      }),
    );
    await h.grid.clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: h.grid.queueUrls["default-normal-dlq"],
        MessageBody: Messages![0]!.Body!,
      }),
    );
    const report = await h.reap();
    expect(report).toMatchObject({ deadLettered: 0, deadLetterMessages: 1, redriven: 1, errors: 0 });
    const task = await h.call("GET", "/sessions/dlq/tasks/0");
    expect(task.body).toMatchObject({ status: "QUEUED", attempt: 0 });
    // A fresh ticket for it is on the queue.
    const event = await h.receive();
    expect(event.Records.map((r) => decodeTicket(r.body))).toMatchObject([{ sessionId: "dlq", start: 0 }]);
  });
});
