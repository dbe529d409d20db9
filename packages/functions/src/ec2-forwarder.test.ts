import { describe, expect, it } from "vitest";
import {
  busClient,
  type EventSink,
  forwardStateChanges,
  type InstanceStateChange,
  parseBusArn,
  type TagReader,
} from "./ec2-forwarder.ts";

const change = (id: string, state: string): InstanceStateChange => ({
  version: "0",
  id: `e-${id}`,
  "detail-type": "EC2 Instance State-change Notification",
  source: "aws.ec2",
  account: "111122223333",
  time: "2026-11-24T10:00:00Z",
  region: "eu-west-1",
  resources: [`arn:aws:ec2:eu-west-1:111122223333:instance/${id}`],
  detail: { "instance-id": id, state },
});

function ports(tagged: Record<string, string>) {
  const asked: string[][] = [];
  const put: Parameters<EventSink["put"]>[0] = [];
  const tags: TagReader = {
    async tagValues(ids, key) {
      asked.push(ids);
      expect(key).toBe("tessera:grid");
      return new Map(ids.filter((id) => id in tagged).map((id) => [id, tagged[id]!]));
    },
  };
  const sink: EventSink = {
    async put(events) {
      put.push(...events);
    },
  };
  return { tags, sink, asked, put };
}

const options = { tagKey: "tessera:grid", tagValue: "tessera-prod" };

describe("EC2 state-change forwarder", () => {
  it("forwards only instances tagged with this grid, with the grid and origin in the detail", async () => {
    const p = ports({ "i-1": "tessera-prod", "i-2": "tessera-dev" });
    const n = await forwardStateChanges(
      [change("i-1", "running"), change("i-2", "running"), change("i-3", "stopped")],
      p.tags,
      p.sink,
      options,
    );
    expect(n).toBe(1);
    expect(p.put).toHaveLength(1);
    expect(p.put[0]).toMatchObject({
      source: "tessera.agents",
      detailType: "EC2 Instance State-change Notification",
    });
    expect(JSON.parse(p.put[0]!.detail)).toEqual({
      "instance-id": "i-1",
      state: "running",
      grid: "tessera-prod",
      account: "111122223333",
      region: "eu-west-1",
    });
    expect(p.asked).toEqual([["i-1", "i-2", "i-3"]]);
  });

  it("puts nothing when no instance is ours", async () => {
    const p = ports({});
    expect(await forwardStateChanges([change("i-9", "terminated")], p.tags, p.sink, options)).toBe(0);
    expect(p.put).toEqual([]);
  });

  it("puts events in the central bus's own region, whatever the function's region", async () => {
    const before = process.env.AWS_REGION;
    process.env.AWS_REGION = "us-east-1";
    try {
      const client = busClient("arn:aws:events:eu-central-1:999988887777:event-bus/central");
      expect(await client.config.region()).toBe("eu-central-1");
    } finally {
      if (before === undefined) delete process.env.AWS_REGION;
      else process.env.AWS_REGION = before;
    }
    expect(parseBusArn("arn:aws-cn:events:cn-north-1:999988887777:event-bus/central")).toEqual({
      partition: "aws-cn",
      region: "cn-north-1",
      account: "999988887777",
      name: "central",
    });
    expect(() => parseBusArn("central")).toThrow("TESSERA_CENTRAL_BUS_ARN must be an event bus ARN");
  });
});
