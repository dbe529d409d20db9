import { EC2Client } from "@aws-sdk/client-ec2";
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { DynamoScalerLock, EC2_TAGS, LOCAL_CREDENTIALS } from "@tessera/core/aws";
import { type FakeEc2, startFakeEc2 } from "@tessera/core/testing";
import { type AwsTestGrid, provisionTestGrid } from "@tessera/core/testing/aws";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createObservability } from "../src/observability.ts";
import { runtimeFromEnv } from "../src/runtime.ts";
import { createScalerHandler, fleetConfigFromEnv, scalerFromEnv } from "../src/scaler.ts";
import { poolFingerprints } from "../src/scaler-lock.ts";
import { lambdaContext } from "./harness.ts";

const scheduled = { id: "evt-1" } as Parameters<ReturnType<typeof createScalerHandler>>[0];
const fleet = (pools: Record<string, unknown>) => JSON.stringify({ grid: "g1", everySeconds: 1, pools });
const batch = {
  launchTemplateId: "lt-1",
  subnets: [
    { id: "subnet-a", zone: "us-east-1a" },
    { id: "subnet-b", zone: "us-east-1b" },
  ],
  vcpu: [4, 8],
  memoryGiB: [8, 32],
  arch: "arm64",
  spot: true,
  maxAgents: 5,
};

/** A grid on the emulators with pools default and batch, a fake EC2, and the scaler's environment. */
async function setUp() {
  const emulators = inject("emulators");
  const grid = await provisionTestGrid(emulators, { pools: ["default", "batch"] });
  const ec2Fake = await startFakeEc2({ subnets: { "subnet-a": "us-east-1a", "subnet-b": "us-east-1b" } });
  const ec2 = new EC2Client({
    endpoint: ec2Fake.endpoint,
    region: "us-east-1",
    credentials: LOCAL_CREDENTIALS,
  });
  const anyUrl = Object.values(grid.queueUrls)[0]!;
  const env: NodeJS.ProcessEnv = {
    TESSERA_PREFIX: grid.grid.table.name.replace(/-tasks$/, ""),
    TESSERA_POOLS: "default,batch",
    TESSERA_QUEUE_URL_BASE: anyUrl.slice(0, anyUrl.lastIndexOf("/")),
    TESSERA_QUEUE_ENDPOINT: emulators.queueEndpoint,
    TESSERA_DYNAMODB_ENDPOINT: emulators.dynamoEndpoint,
    TESSERA_FLEET: fleet({ batch }),
  };
  return { grid, ec2Fake, ec2, env };
}

describe("fleet scaler function (scheduled)", () => {
  let grid: AwsTestGrid;
  let ec2Fake: FakeEc2;
  let ec2: EC2Client;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    ({ grid, ec2Fake, ec2, env } = await setUp());
  });
  afterAll(async () => {
    ec2.destroy();
    grid.close();
    await ec2Fake.close();
  });

  it("returns after one pass when the grid is idle (no work, no agent): an idle grid costs one short call", async () => {
    const scaler = scalerFromEnv(env, { ec2 });
    const handler = createScalerHandler(() => scaler, createObservability("tessera-scaler-test"), 5_000);
    const started = Date.now();
    expect(await handler(scheduled, lambdaContext())).toEqual({
      passes: 1,
      launched: 0,
      stopped: 0,
      shortfalls: 0,
    });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(ec2Fake.requests.map((r) => r.action)).toEqual(["DescribeInstances"]);
  });

  it("launches agents for a pool's backlog and keeps passing while there is work", async () => {
    await grid.ports.queue.send(
      "batch-normal",
      Array.from({ length: 12 }, (_, i) => ({ body: `t${i}` })),
    );
    const scaler = scalerFromEnv(env, { ec2 });
    const handler = createScalerHandler(() => scaler, createObservability("tessera-scaler-test"), 1_500);
    const report = await handler(scheduled, lambdaContext());
    expect(report.launched).toBe(2); // 12 tickets / 4 per agent = 3 wanted; the first step is 2
    expect(report.passes).toBeGreaterThanOrEqual(2); // went on passing within the invocation
    const launched = [...ec2Fake.instances.values()];
    expect(launched).toHaveLength(2);
    for (const i of launched)
      expect(i.tags).toMatchObject({ [EC2_TAGS.grid]: "g1", [EC2_TAGS.pool]: "batch" });
  });

  it("rejects a bad TESSERA_FLEET with the field named", () => {
    expect(() => fleetConfigFromEnv({})).toThrow("TESSERA_FLEET is not set");
    expect(() => fleetConfigFromEnv({ TESSERA_FLEET: "{" })).toThrow("TESSERA_FLEET is not valid JSON");
    expect(() => fleetConfigFromEnv({ TESSERA_FLEET: fleet({ batch: { ...batch, vcpu: [8, 4] } }) })).toThrow(
      /TESSERA_FLEET\.pools\.batch\.vcpu/,
    );
    expect(() => scalerFromEnv({ ...env, TESSERA_FLEET: fleet({ gpu: batch }) }, { ec2 })).toThrow(
      "TESSERA_FLEET.pools.gpu: not a pool of this grid",
    );
  });
});

describe("fleet scaler function: one at a time (its lock in the grid's table)", () => {
  let grid: AwsTestGrid;
  let ec2Fake: FakeEc2;
  let ec2: EC2Client;
  let env: NodeJS.ProcessEnv;
  let lock: DynamoScalerLock;
  beforeAll(async () => {
    ({ grid, ec2Fake, ec2, env } = await setUp());
    lock = new DynamoScalerLock({ doc: grid.clients.doc, table: grid.grid.table.name });
    await grid.ports.queue.send(
      "batch-normal",
      Array.from({ length: 12 }, (_, i) => ({ body: `t${i}` })),
    );
  });
  afterAll(async () => {
    ec2.destroy();
    grid.close();
    await ec2Fake.close();
  });
  const launches = () => ec2Fake.requests.filter((r) => r.action === "CreateFleet").length;
  const lockItem = async () =>
    (
      await grid.clients.doc.send(
        new GetCommand({ TableName: grid.grid.table.name, Key: { pk: "LOCK#fleet-scaler", sk: "LOCK" } }),
      )
    ).Item;
  const handlerOf = () =>
    createScalerHandler(() => scalerFromEnv(env, { ec2 }), createObservability("tessera-scaler-test"), 1_500);

  it("skips its passes while another scaler holds the lock: no read, no launch", async () => {
    expect(await lock.acquire("other-scaler", Date.now() + 90_000)).toBeDefined();
    const requests = ec2Fake.requests.length;
    expect(await handlerOf()(scheduled, lambdaContext())).toEqual({
      passes: 0,
      launched: 0,
      stopped: 0,
      shortfalls: 0,
      skipped: "another scaler is running",
    });
    expect(ec2Fake.requests.length).toBe(requests);
    expect((await lockItem())?.owner).toBe("other-scaler"); // not released by the one that skipped
  });

  it("keeps a hold on a pool whose agents never came up, from the lock, until the pool's config changes", async () => {
    const now = Date.now();
    const held = {
      pools: {
        batch: {
          config: poolFingerprints(fleetConfigFromEnv(env).pools).batch!,
          boot: {
            failures: 2,
            lastFailedLaunchAt: now - 900_000,
            holds: 1,
            heldSince: now,
            heldUntil: now + 900_000,
          },
        },
      },
    };
    await lock.release("other-scaler", held); // as the previous scaler (another container) left it
    const report = await handlerOf()(scheduled, lambdaContext());
    expect(report).toMatchObject({ launched: 0, shortfalls: 0 });
    expect(report.passes).toBeGreaterThanOrEqual(1);
    expect(launches()).toBe(0);
    // Released, with the hold left for the next.
    const item = await lockItem();
    expect(item?.owner).toBeUndefined();
    expect(item?.expires).toBe(0);
    expect(item?.memory).toMatchObject({ pools: { batch: { boot: { heldUntil: now + 900_000 } } } });
    // A new configuration of the pool (a new launch template) starts clean.
    env = { ...env, TESSERA_FLEET: fleet({ batch: { ...batch, launchTemplateId: "lt-2" } }) };
    expect((await handlerOf()(scheduled, lambdaContext())).launched).toBe(2);
    expect(launches()).toBe(1);
  });

  it("leaves the fleet's status in its lock, where the API's fleet route reads it", async () => {
    // The previous test's invocation launched 2 agents for the 12 waiting tickets.
    const runtime = runtimeFromEnv({ ...env, TESSERA_SCALER_FUNCTION: "tessera-scaler" });
    const [batchPool, ...others] = (await runtime.fleet?.pools()) ?? [];
    expect(others).toEqual([]);
    expect(batchPool).toMatchObject({ pool: "batch", queued: { high: 0, normal: 12, low: 0 } });
    expect(batchPool!.recentLaunches.map((l) => l.count)).toEqual([2]);
    expect(batchPool!.agents.launching + batchPool!.agents.idle + batchPool!.agents.busy).toBe(2);
    // What the launch got, as CreateFleet said: spot instances of the fake's catalogue.
    const [launch] = batchPool!.recentLaunches;
    expect(launch!.instanceTypes!.reduce((n, t) => n + t.count, 0)).toBe(2);
    for (const t of launch!.instanceTypes!) expect(t.market).toBe("spot");
    // Pending instances are not billed yet: counting began, with nothing counted.
    expect(batchPool!.usage?.lines).toEqual([]);
    // They start running; the next invocation (another container) takes the launches and the
    // count up from the lock and adds the agents' billed time.
    for (const i of ec2Fake.instances.values()) i.state = "running";
    await handlerOf()(scheduled, lambdaContext());
    const [again] = (await runtime.fleet?.pools()) ?? [];
    expect(again!.recentLaunches.map((l) => l.count)).toEqual(batchPool!.recentLaunches.map((l) => l.count));
    expect(again!.at).toBeGreaterThan(batchPool!.at);
    expect(again!.usage!.since).toBeLessThanOrEqual(batchPool!.usage!.since);
    const seconds = (p: typeof again) => p!.usage!.lines.reduce((n, l) => n + l.seconds, 0);
    expect(seconds(again)).toBeGreaterThan(0);
    expect(again!.usage!.lines.map((l) => l.market)).toEqual(again!.usage!.lines.map(() => "spot"));
    await handlerOf()(scheduled, lambdaContext());
    const [third] = (await runtime.fleet?.pools()) ?? [];
    expect(seconds(third)).toBeGreaterThan(seconds(again));
    expect(third!.usage!.since).toBe(again!.usage!.since);
    // A grid without a scaler shows no pools.
    expect(runtimeFromEnv(env).fleet).toBeUndefined();
  });
});
