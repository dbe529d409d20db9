/**
 * The agent's status on its own EC2 instance, as tags the fleet scaler reads with the
 * DescribeInstances call it makes anyway: `tessera:agent` (`running`, then `draining`),
 * `tessera:busy` (tasks held), `tessera:idle-since` and `tessera:slots` (tasks it runs at once:
 * the instance the attributes picked decides it). Written only when the agent goes from
 * idle to busy or back, or starts draining, at most once per poll: a handful of free EC2 calls
 * per agent and session, no table item and no extra read for the scaler.
 */
import { CreateTagsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { MetadataService } from "@aws-sdk/ec2-metadata-service";
import { EC2_TAGS } from "@tessera/core/aws";
import type { AgentStats } from "./agent.ts";

export interface Ec2StatusOptions {
  /** The agent's counters. */
  stats: () => AgentStats;
  /** Instance metadata endpoint. @default http://169.254.169.254 */
  imdsEndpoint?: string;
  /** An EC2 client (region from the environment by default). */
  ec2?: EC2Client;
  /** Check interval, ms. @default 5000 */
  everyMs?: number;
  onError?: (error: Error) => void;
}

/** This instance's type and market (`spot` or `on-demand`), to price the agent's time. */
export async function instanceKind(
  imdsEndpoint = "http://169.254.169.254",
): Promise<{ type: string; market: string }> {
  const imds = new MetadataService({
    endpoint: imdsEndpoint,
    httpOptions: { timeout: 1_000 },
    ec2MetadataV1Disabled: true,
  });
  const [type, lifecycle] = await Promise.all([
    imds.request("latest/meta-data/instance-type", {}),
    imds.request("latest/meta-data/instance-life-cycle", {}),
  ]);
  return { type: type.trim(), market: lifecycle.trim() === "spot" ? "spot" : "on-demand" };
}

/** What the tags say, and whether a change is worth a write. `now` stamps a drain's start. */
export function statusTags(
  stats: AgentStats,
  now = Date.now(),
): { key: string; tags: Record<string, string> } {
  const busy = Math.max(stats.runningTasks, stats.heldLeases);
  // Starting is about to run: only a stop makes it draining.
  const state = stats.state === "running" || stats.state === "starting" ? "running" : "draining";
  const tags = {
    [EC2_TAGS.agent]: state,
    [EC2_TAGS.busy]: String(busy),
    [EC2_TAGS.idleSince]: busy === 0 ? (stats.idleSince ?? stats.startedAt) : "",
    [EC2_TAGS.slots]: String(stats.concurrency),
    // Written once: the key does not change while draining.
    ...(state === "draining" ? { [EC2_TAGS.drainingSince]: new Date(now).toISOString() } : {}),
  };
  // Busy counts change all the time; only idle ↔ busy and the state are worth a call (and a
  // drain is written once, with when it began).
  return { key: state === "draining" ? "draining" : `${state}:${busy > 0 ? "busy" : "idle"}`, tags };
}

/** Keeps the tags current until the returned function is called (which writes a last time). */
export async function reportEc2Status(options: Ec2StatusOptions): Promise<() => Promise<void>> {
  const imds = new MetadataService({
    endpoint: options.imdsEndpoint ?? "http://169.254.169.254",
    httpOptions: { timeout: 1_000 },
    ec2MetadataV1Disabled: true,
  });
  const instanceId = (await imds.request("latest/meta-data/instance-id", {})).trim();
  const ec2 = options.ec2 ?? new EC2Client({});
  let written: string | undefined;
  let writing = Promise.resolve();
  const write = () => {
    writing = writing.then(async () => {
      const { key, tags } = statusTags(options.stats());
      if (key === written) return;
      try {
        await ec2.send(
          new CreateTagsCommand({
            Resources: [instanceId],
            Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
          }),
        );
        written = key;
      } catch (error) {
        options.onError?.(error as Error); // tried again on the next check
      }
    });
    return writing;
  };
  await write();
  const timer = setInterval(() => void write(), options.everyMs ?? 5_000);
  return async () => {
    clearInterval(timer);
    await write();
    if (!options.ec2) ec2.destroy();
  };
}
