/**
 * What the local grid keeps in its data directory besides the emulators' data: the emulators'
 * ports (reused on restart), the settings an agent started by hand needs (`agent.env`), and
 * the kept queues brought to this run's settings.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import {
  GetQueueUrlCommand,
  QueueDoesNotExist,
  SetQueueAttributesCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { GridDefinition } from "@tessera/core";

/** The emulators' ports. */
export interface EmulatorPorts {
  dynamodb?: number;
  fauxqs?: number;
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

/**
 * The emulators' ports of the last run on `dir`, those still free: links handed out before a
 * restart (presigned result URLs) and an `agent.env` sourced before it stay valid.
 */
export async function rememberedPorts(dir: string): Promise<EmulatorPorts> {
  let saved: Record<string, unknown>;
  try {
    saved = JSON.parse(readFileSync(join(dir, "ports.json"), "utf8"));
  } catch {
    return {};
  }
  const usable = async (port: unknown) =>
    Number.isInteger(port) && (port as number) > 0 && (await isFree(port as number))
      ? (port as number)
      : undefined;
  return { dynamodb: await usable(saved.dynamodb), fauxqs: await usable(saved.fauxqs) };
}

/** Notes the ports this run's emulators listen on, for the next run. */
export function rememberPorts(dir: string, ports: Required<EmulatorPorts>): void {
  writeFileSync(join(dir, "ports.json"), JSON.stringify(ports));
}

/**
 * Writes `env` to `dir/agent.env` as lines a POSIX shell sources (values single-quoted), and
 * returns the file's path: `set -a; . FILE; set +a` gives an agent this grid.
 */
export function writeAgentEnv(dir: string, env: Record<string, string>): string {
  const file = join(dir, "agent.env");
  const quote = (v: string) => `'${v.replaceAll("'", "'\\''")}'`;
  writeFileSync(
    file,
    "# Written by npm start: what an agent needs to serve this local grid (its emulators need\n" +
      `# no credentials). Use: set -a; . ${file}; set +a; npx tessera-agent …\n` +
      Object.entries(env)
        .map(([k, v]) => `${k}=${quote(v)}\n`)
        .join(""),
  );
  return file;
}

/**
 * Brings the queues kept from an earlier run to this run's settings, as a deploy updates them:
 * a pool that changed hands (worker pools get the Lambda timeout as their visibility timeout,
 * agent pools a shorter one) would otherwise be refused by CreateQueue as a different queue.
 */
export async function updateKeptQueues(sqs: SQSClient, grid: GridDefinition): Promise<void> {
  for (const q of grid.queues) {
    let url: string | undefined;
    try {
      url = (await sqs.send(new GetQueueUrlCommand({ QueueName: q.physicalName }))).QueueUrl;
    } catch (error) {
      if (error instanceof QueueDoesNotExist) continue;
      throw error;
    }
    await sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: url,
        Attributes: {
          VisibilityTimeout: String(q.visibilityTimeoutSeconds),
          MessageRetentionPeriod: String(q.retentionSeconds),
        },
      }),
    );
  }
}
