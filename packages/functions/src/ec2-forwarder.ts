/**
 * Forwards EC2 instance state changes of this grid's agent instances to a central monitoring
 * account's event bus, so an operator running several grids sees them in one place.
 * EventBridge cannot filter EC2 state-change events by tag (the events carry no tags), so the
 * rule catches the state changes and this function keeps only instances that carry the grid's
 * tag, reading tags through a narrow port, and forwards them unchanged but for their source.
 */
import { DescribeTagsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import type { EventBridgeEvent } from "aws-lambda";

/** An EC2 instance state-change notification. */
export type InstanceStateChange = EventBridgeEvent<
  "EC2 Instance State-change Notification",
  { "instance-id": string; state: string }
>;

/** Reads the tags of instances. */
export interface TagReader {
  /** Tag values of `key` by instance id, for the instances that have it. */
  tagValues(instanceIds: string[], key: string): Promise<Map<string, string>>;
}

/** Where forwarded events go. */
export interface EventSink {
  put(
    events: Array<{ source: string; detailType: string; detail: string; resources: string[]; time?: Date }>,
  ): Promise<void>;
}

/** Settings of the forwarder. */
export interface ForwarderOptions {
  /** The tag that marks the grid's agent instances, and its value (the grid's prefix). */
  tagKey: string;
  tagValue: string;
  /** Source name of forwarded events. @default "tessera.agents" */
  source?: string;
}

/** Forwards the events whose instance carries the grid's tag; returns how many it forwarded. */
export async function forwardStateChanges(
  events: InstanceStateChange[],
  tags: TagReader,
  sink: EventSink,
  options: ForwarderOptions,
): Promise<number> {
  const ids = [...new Set(events.map((e) => e.detail["instance-id"]))];
  if (ids.length === 0) return 0;
  const values = await tags.tagValues(ids, options.tagKey);
  const ours = events.filter((e) => values.get(e.detail["instance-id"]) === options.tagValue);
  if (ours.length === 0) return 0;
  await sink.put(
    ours.map((e) => ({
      source: options.source ?? "tessera.agents",
      detailType: e["detail-type"],
      detail: JSON.stringify({ ...e.detail, grid: options.tagValue, account: e.account, region: e.region }),
      resources: e.resources,
      time: new Date(e.time),
    })),
  );
  return ours.length;
}

/** Tags through EC2's DescribeTags (it has no resource-level permissions: see infra/permissions.ts). */
export class Ec2TagReader implements TagReader {
  readonly #ec2: EC2Client;
  constructor(ec2 = new EC2Client({})) {
    this.#ec2 = ec2;
  }
  async tagValues(instanceIds: string[], key: string): Promise<Map<string, string>> {
    const out = await this.#ec2.send(
      new DescribeTagsCommand({
        Filters: [
          { Name: "resource-id", Values: instanceIds },
          { Name: "key", Values: [key] },
        ],
      }),
    );
    return new Map((out.Tags ?? []).map((t) => [t.ResourceId ?? "", t.Value ?? ""]));
  }
}

/** The parts of an event bus ARN, or an error naming TESSERA_CENTRAL_BUS_ARN. */
export function parseBusArn(arn: string): {
  partition: string;
  region: string;
  account: string;
  name: string;
} {
  const m = /^arn:(aws[a-z-]*):events:([a-z0-9-]+):(\d{12}):event-bus\/([A-Za-z0-9._\-/]+)$/.exec(arn);
  if (!m)
    throw new Error(
      `TESSERA_CENTRAL_BUS_ARN must be an event bus ARN, arn:aws:events:REGION:ACCOUNT:event-bus/NAME (got "${arn}")`,
    );
  return { partition: m[1]!, region: m[2]!, account: m[3]!, name: m[4]! };
}

/**
 * An EventBridge client for a bus: in the bus's own region, since PutEvents reaches only buses
 * of the region it is sent to (the function's own region would refuse a bus elsewhere).
 */
export function busClient(busArn: string): EventBridgeClient {
  return new EventBridgeClient({ region: parseBusArn(busArn).region });
}

/** Events put on another account's bus (its policy must allow this account to put). */
export class EventBusSink implements EventSink {
  readonly #client: EventBridgeClient;
  readonly #busArn: string;
  constructor(busArn: string, client = busClient(busArn)) {
    this.#busArn = busArn;
    this.#client = client;
  }
  async put(events: Parameters<EventSink["put"]>[0]): Promise<void> {
    for (let i = 0; i < events.length; i += 10) {
      const out = await this.#client.send(
        new PutEventsCommand({
          Entries: events.slice(i, i + 10).map((e) => ({
            EventBusName: this.#busArn,
            Source: e.source,
            DetailType: e.detailType,
            Detail: e.detail,
            Resources: e.resources,
            Time: e.time,
          })),
        }),
      );
      if ((out.FailedEntryCount ?? 0) > 0)
        throw new Error(`${out.FailedEntryCount} events were not accepted by ${this.#busArn}`);
    }
  }
}
