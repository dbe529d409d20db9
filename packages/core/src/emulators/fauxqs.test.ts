import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterEach, describe, expect, it } from "vitest";
import { createAwsClients, destroyAwsClients, LOCAL_CREDENTIALS } from "../adapters/aws/clients.ts";
import { type FauxqsEmulator, startFauxqsEmulator } from "./fauxqs.ts";

const running: FauxqsEmulator[] = [];
afterEach(async () => {
  for (const e of running.splice(0)) await e.stop();
});

async function start(dataDir?: string) {
  const emulator = await startFauxqsEmulator({ dataDir });
  running.push(emulator);
  const clients = createAwsClients({ queueEndpoint: emulator.endpoint, credentials: LOCAL_CREDENTIALS });
  return { emulator, clients };
}

describe("fauxqs emulator", () => {
  it("keeps queued tickets and objects across a restart on the same data directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tessera-fauxqs-"));
    const body = Buffer.alloc(300 * 1024, 7);
    const first = await start(dir);
    const { QueueUrl } = await first.clients.sqs.send(new CreateQueueCommand({ QueueName: "keep-q" }));
    await first.clients.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "ticket-1" }));
    await first.clients.s3.send(new CreateBucketCommand({ Bucket: "keep-b" }));
    await first.clients.s3.send(new PutObjectCommand({ Bucket: "keep-b", Key: "t/a/s/b/r/1", Body: body }));
    destroyAwsClients(first.clients);
    await first.emulator.stop();

    const again = await start(dir);
    const got = await again.clients.s3.send(new GetObjectCommand({ Bucket: "keep-b", Key: "t/a/s/b/r/1" }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
    const received = await again.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 0 }),
    );
    expect(received.Messages?.map((m) => m.Body)).toEqual(["ticket-1"]);
    destroyAwsClients(again.clients);
  });

  it("keeps nothing without a data directory", async () => {
    const first = await start();
    await first.clients.sqs.send(new CreateQueueCommand({ QueueName: "gone-q" }));
    await first.emulator.stop();
    destroyAwsClients(first.clients);
    const again = await start();
    await expect(
      again.clients.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: `${again.emulator.endpoint}/000000000000/gone-q` }),
      ),
    ).rejects.toThrow();
    destroyAwsClients(again.clients);
  });
});
