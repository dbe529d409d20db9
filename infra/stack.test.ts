/**
 * The stack's declarations, checked offline: infra/ runs against a recording stand-in for the
 * `sst` and `aws` globals, so every component our code declares, with its arguments, can be
 * asserted on. (SST's own resource graph needs its CLI to build functions, which cannot run
 * here; `npm test` type-checks the same code against SST's real types.)
 */
// biome-ignore-all lint/suspicious/noExplicitAny: component arguments are free-form records here
import { beforeEach, describe, expect, it } from "vitest";
import { defineGrid } from "../packages/core/src/resources.ts";

interface Declared {
  kind: string;
  name: string;
  args: Record<string, any>;
  calls: Array<{ method: string; args: any[] }>;
}
let declared: Declared[] = [];

function component(kind: string) {
  return class {
    readonly record: Declared;
    readonly arn: string;
    readonly url: string;
    readonly name: string;
    constructor(name: string, args: Record<string, any> = {}) {
      this.record = { kind, name, args, calls: [] };
      declared.push(this.record);
      this.arn = `arn:${kind}:${name}`;
      this.url = `url:${name}`;
      this.name = `name:${name}`;
    }
    subscribe(...args: any[]) {
      this.record.calls.push({ method: "subscribe", args });
    }
    route(...args: any[]) {
      this.record.calls.push({ method: "route", args });
    }
  };
}

Object.assign(globalThis, {
  sst: {
    aws: {
      Dynamo: component("Dynamo"),
      Bucket: component("Bucket"),
      Queue: component("Queue"),
      Function: component("Function"),
      ApiGatewayV2: component("ApiGatewayV2"),
      Cron: component("Cron"),
    },
    x: { DevCommand: component("DevCommand") },
  },
  aws: {
    getRegionOutput: () => ({ name: "eu-west-1" }),
    getCallerIdentityOutput: () => ({ accountId: "123456789012" }),
    sns: { Topic: component("sns.Topic"), TopicSubscription: component("sns.TopicSubscription") },
    lambda: { Permission: component("lambda.Permission") },
    cloudwatch: {
      EventRule: component("cloudwatch.EventRule"),
      EventTarget: component("cloudwatch.EventTarget"),
      MetricAlarm: component("cloudwatch.MetricAlarm"),
      Dashboard: component("cloudwatch.Dashboard"),
    },
  },
  $interpolate: (parts: TemplateStringsArray, ...values: unknown[]) =>
    parts.reduce((out, part, i) => out + part + (i < values.length ? String(values[i]) : ""), ""),
});

const CENTRAL_BUS = "arn:aws:events:eu-west-1:999988887777:event-bus/central";
process.env.TESSERA_CENTRAL_BUS_ARN = CENTRAL_BUS;
const { storage } = await import("./storage.ts");
const { queues } = await import("./queues.ts");
const { functions } = await import("./functions.ts");
const { monitoring } = await import("./monitoring.ts");
const { devCommands } = await import("./dev.ts");

function stack(pools = ["default", "gpu"]) {
  declared = [];
  const grid = defineGrid({ prefix: "tessera-test", pools });
  const { table, bucket } = storage(grid);
  const { ticketQueues } = queues(grid);
  const arns = {
    table: table.arn,
    bucket: bucket.arn,
    ticketQueues: ticketQueues.map((q) => q.queue.arn),
    deadLetterQueues: ticketQueues.map((q) => q.dlq.arn),
  };
  const { worker } = functions(grid, arns, ticketQueues);
  monitoring(grid, { worker: { name: worker.name } });
  return { grid, arns };
}

const ofKind = (kind: string) => declared.filter((d) => d.kind === kind);
const applyTransform = (args: Record<string, any>, key: string) => {
  const out: Record<string, any> = {};
  args.transform?.[key]?.(out);
  return out;
};

describe("the stack", () => {
  beforeEach(() => {
    declared = [];
  });

  it("declares the table and indexes of the shared definition, on-demand, with PITR and encryption", () => {
    const { grid } = stack();
    const [table] = ofKind("Dynamo");
    expect(table!.args.primaryIndex).toEqual({ hashKey: "pk", rangeKey: "sk" });
    expect(Object.keys(table!.args.globalIndexes).sort()).toEqual(
      grid.table.indexes.map((i) => i.name).sort(),
    );
    for (const index of Object.values<any>(table!.args.globalIndexes))
      expect(index.projection).toBe("keys-only");
    expect(applyTransform(table!.args, "table")).toMatchObject({
      name: grid.table.name,
      billingMode: "PAY_PER_REQUEST",
      pointInTimeRecovery: { enabled: true },
      serverSideEncryption: { enabled: true },
    });
    const [bucket] = ofKind("Bucket");
    expect(bucket!.args.lifecycle[0]).toMatchObject({ prefix: "t/", expiresIn: "30 days" });
  });

  it("gives every ticket queue a dead-letter queue with the definition's redrive policy", () => {
    const { grid } = stack();
    const queuesByName = new Map(ofKind("Queue").map((q) => [applyTransform(q.args, "queue").name, q]));
    for (const q of grid.queues) {
      const main = queuesByName.get(q.physicalName);
      const dlq = queuesByName.get(q.deadLetterPhysicalName);
      expect(main, q.physicalName).toBeDefined();
      expect(dlq, q.deadLetterPhysicalName).toBeDefined();
      expect(main!.args.dlq).toEqual({ queue: `arn:Queue:${dlq!.name}`, retry: q.maxReceiveCount });
    }
    expect(queuesByName.size).toBe(grid.queues.length * 2);
  });

  it("subscribes the worker to each Lambda pool's queues with partial batch responses", () => {
    const { grid } = stack();
    const subscribed = ofKind("Queue").filter((q) => q.calls.some((c) => c.method === "subscribe"));
    expect(subscribed).toHaveLength(grid.queues.length);
    for (const q of subscribed) {
      const [, args] = q.calls[0]!.args;
      expect(args.batch).toMatchObject({ size: 10, partialResponses: true });
      const mapping: Record<string, any> = {};
      args.transform.eventSourceMapping(mapping);
      expect(mapping.scalingConfig.maximumConcurrency).toBeGreaterThan(0);
    }
    const [worker] = ofKind("Function");
    expect(worker!.args).toMatchObject({ runtime: "nodejs24.x", architecture: "arm64" });
  });

  it("requires IAM auth on every API route", () => {
    stack();
    const [api] = ofKind("ApiGatewayV2");
    expect(api!.calls.length).toBeGreaterThan(0);
    for (const call of api!.calls) expect(call.args[2]).toEqual({ auth: { iam: true } });
  });

  it("grants no `*` action or resource, and only the grid's own table, queues and bucket", () => {
    const { arns } = stack();
    const allowed = [
      arns.table,
      `${arns.table}/index/*`,
      arns.bucket,
      `${arns.bucket}/t/*`,
      ...arns.ticketQueues,
      ...arns.deadLetterQueues,
    ];
    const statementsOf = (d: Declared) =>
      (d.kind === "Cron"
        ? d.args.function.permissions
        : d.kind === "ApiGatewayV2"
          ? d.calls[0]!.args[1].permissions
          : d.args.permissions) as Array<{ actions: string[]; resources: string[] }>;
    const grid = ofKind("Function").filter((f) => f.name !== "Ec2Forwarder");
    const holders = [...grid, ...ofKind("Cron"), ...ofKind("ApiGatewayV2")];
    expect(holders).toHaveLength(3);
    for (const holder of holders) {
      const statements = statementsOf(holder);
      expect(statements.length).toBeGreaterThan(0);
      for (const s of statements) {
        for (const action of s.actions) expect(action).not.toContain("*");
        for (const resource of s.resources) {
          expect(resource === "*").toBe(false);
          expect(allowed, `${holder.name}: ${resource}`).toContain(resource);
        }
      }
    }
    // Only the reaper drains dead-letter queues.
    const reaches = (holder: Declared, arn: string) =>
      statementsOf(holder).some((s) => s.resources.includes(arn));
    const [worker] = grid;
    const [reaper] = ofKind("Cron");
    const [api] = ofKind("ApiGatewayV2");
    // The forwarder's one `*` is ec2:DescribeTags (no resource-level permissions exist for it).
    const forwarder = ofKind("Function").find((f) => f.name === "Ec2Forwarder")!;
    expect(forwarder.args.permissions).toEqual([
      { actions: ["ec2:DescribeTags"], resources: ["*"] },
      { actions: ["events:PutEvents"], resources: [CENTRAL_BUS] },
    ]);
    for (const dlq of arns.deadLetterQueues) {
      expect(reaches(reaper!, dlq)).toBe(true);
      expect(reaches(worker!, dlq)).toBe(false);
      expect(reaches(api!, dlq)).toBe(false);
    }
  });

  it("alarms on every dead-letter queue, on waiting tickets, on worker errors and on throttles", () => {
    const { grid } = stack();
    const alarms = ofKind("cloudwatch.MetricAlarm").map((a) => a.args);
    const [topic] = ofKind("sns.Topic");
    for (const alarm of alarms) expect(alarm.alarmActions).toEqual([`arn:sns.Topic:${topic!.name}`]);
    const on = (metric: string, dimension: string) =>
      alarms.filter((a) => a.metricName === metric).map((a) => a.dimensions[dimension]);
    expect(on("ApproximateNumberOfMessagesVisible", "QueueName").sort()).toEqual(
      grid.queues.map((q) => q.deadLetterPhysicalName).sort(),
    );
    for (const a of alarms.filter((x) => x.metricName === "ApproximateNumberOfMessagesVisible")) {
      expect(a).toMatchObject({ comparisonOperator: "GreaterThanThreshold", threshold: 0 });
    }
    expect(on("ApproximateAgeOfOldestMessage", "QueueName").sort()).toEqual(
      grid.queues.map((q) => q.physicalName).sort(),
    );
    expect(on("Errors", "FunctionName")).toEqual(["name:Worker"]);
    expect(on("Throttles", "FunctionName")).toEqual(["name:Worker"]);
    expect(on("ThrottledRequests", "TableName")).toEqual([grid.table.name]);
    const [dashboard] = ofKind("cloudwatch.Dashboard");
    expect(JSON.parse(dashboard!.args.dashboardBody).widgets.length).toBeGreaterThan(0);
  });

  it("forwards only EC2 state changes, to the central bus, through the tag-checking forwarder", () => {
    const { grid } = stack();
    const [rule] = ofKind("cloudwatch.EventRule");
    expect(JSON.parse(rule!.args.eventPattern)).toEqual({
      source: ["aws.ec2"],
      "detail-type": ["EC2 Instance State-change Notification"],
    });
    const forwarder = ofKind("Function").find((f) => f.name === "Ec2Forwarder")!;
    expect(forwarder.args.environment).toEqual({
      TESSERA_CENTRAL_BUS_ARN: CENTRAL_BUS,
      TESSERA_AGENT_TAG_KEY: "tessera:grid",
      TESSERA_AGENT_TAG_VALUE: grid.table.name.replace(/-tasks$/, ""),
    });
    const [target] = ofKind("cloudwatch.EventTarget");
    expect(target!.args).toEqual({ rule: `name:${rule!.name}`, arn: "arn:Function:Ec2Forwarder" });
    const [permission] = ofKind("lambda.Permission");
    expect(permission!.args).toMatchObject({
      principal: "events.amazonaws.com",
      sourceArn: `arn:cloudwatch.EventRule:${rule!.name}`,
    });
  });

  it("registers an agent on the stage's queues for `sst dev`", () => {
    declared = [];
    const grid = defineGrid({ prefix: "tessera-dev", pools: ["default"] });
    devCommands(grid, { TESSERA_PREFIX: "tessera-dev", TESSERA_QUEUE_URL_BASE: "https://sqs" });
    const [agent] = ofKind("DevCommand");
    expect(agent!.args.dev.command).toMatch(/^node packages\/agent\/src\/cli\.ts --tasks /);
    expect(agent!.args.environment).toMatchObject({
      TESSERA_PREFIX: "tessera-dev",
      TESSERA_AGENT_POOLS: "default",
    });
  });
});
