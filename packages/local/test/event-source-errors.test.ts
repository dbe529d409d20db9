/** A failed invocation of the local event source says which tasks it held. */
import { CreateQueueCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { encodeTicket } from "@tessera/core";
import { createAwsClients, destroyAwsClients, LOCAL_CREDENTIALS } from "@tessera/core/aws";
import { type FauxqsEmulator, startFauxqsEmulator } from "@tessera/core/emulators";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runEventSource } from "../src/event-source.ts";

let fauxqs: FauxqsEmulator;
let clients: ReturnType<typeof createAwsClients>;
beforeAll(async () => {
  fauxqs = await startFauxqsEmulator({});
  clients = createAwsClients({ queueEndpoint: fauxqs.endpoint, credentials: LOCAL_CREDENTIALS });
});
afterAll(async () => {
  destroyAwsClients(clients);
  await fauxqs.stop();
});

/** middy's early timeout, as the worker handler throws it when an invocation outlives its time. */
function middyTimeout(): Error {
  const error = new Error("[AbortError]: The operation was aborted.");
  error.name = "TimeoutError";
  return error;
}

/** Runs a mapping over a queue holding one ticket until its handler was invoked; returns what it reported. */
async function reported(queueName: string): Promise<string[]> {
  const { QueueUrl } = await clients.sqs.send(new CreateQueueCommand({ QueueName: queueName }));
  const ticket = encodeTicket({ tenant: "acme", sessionId: "risk-0412", start: 16, count: 4 });
  await clients.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: ticket }));
  const stop = new AbortController();
  const errors: string[] = [];
  let invoked!: () => void;
  const invocation = new Promise<void>((r) => (invoked = r));
  const running = runEventSource({
    sqs: clients.sqs,
    queueUrl: QueueUrl!,
    queueName,
    handler: async () => {
      invoked();
      throw middyTimeout();
    },
    pollers: 1,
    timeoutMs: 5_000,
    visibilityTimeoutSeconds: 30,
    signal: stop.signal,
    onError: (error) => errors.push((error as Error).message),
  });
  await invocation;
  await new Promise((r) => setTimeout(r, 100));
  stop.abort();
  await running;
  return errors;
}

describe("local event source errors", () => {
  it("names the queue, sessions and tasks of an invocation that ran past its timeout", async () => {
    expect(await reported("tessera-errors-a")).toEqual([
      "invocation on tessera-errors-a (session risk-0412 #16-19) ran past its 5 s timeout; its tickets come back after their visibility timeout",
    ]);
  });
});
