import { EC2Client } from "@aws-sdk/client-ec2";
import { afterEach, describe, expect, it } from "vitest";
import { FAKE_CATALOG, type FakeEc2, startFakeEc2 } from "../../testing/fake-ec2.ts";
import { LOCAL_CREDENTIALS } from "./clients.ts";
import { EC2_TAGS, Ec2Fleet, type Ec2PoolConfig } from "./ec2-fleet.ts";

const subnets = { "subnet-a": "us-east-1a", "subnet-b": "us-east-1b" };
const pool: Ec2PoolConfig = {
  launchTemplateId: "lt-0123",
  subnets: Object.entries(subnets).map(([id, zone]) => ({ id, zone })),
  vcpu: [4, 4],
  memoryGiB: [8, 16],
  arch: "arm64",
  spot: true,
};
const fakes: FakeEc2[] = [];
const clients: EC2Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  for (const f of fakes.splice(0)) await f.close();
});

async function setup(config: Partial<Ec2PoolConfig> = {}) {
  const ec2Fake = await startFakeEc2({ subnets });
  fakes.push(ec2Fake);
  // One attempt: the tests see each answer (the SDK's own retries are for production).
  const ec2 = new EC2Client({
    endpoint: ec2Fake.endpoint,
    region: "us-east-1",
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 1,
  });
  clients.push(ec2);
  let now = 1_000_000;
  const fleet = new Ec2Fleet({ ec2, grid: "g1", pools: { batch: { ...pool, ...config } }, now: () => now });
  return { fake: ec2Fake, fleet, advance: (ms: number) => (now += ms) };
}
const createFleets = (fake: FakeEc2) =>
  fake.requests.filter((r) => r.action === "CreateFleet").map((r) => r.params);

describe("EC2 fleet adapter (EC2 wire protocol stand-in)", () => {
  it("launches through an instant EC2 Fleet on the template, with attribute-based requirements in every zone", async () => {
    const { fake, fleet } = await setup();
    const report = await fleet.launch("batch", 3);
    expect(report).toEqual({ launched: expect.any(Array), errors: [], placed: expect.any(Array) });
    expect(report.launched).toHaveLength(3);
    // Where each came from, as CreateFleet said: the fake's catalogue types, spot, a pool zone.
    expect(report.placed!.map((p) => p.id)).toEqual(report.launched);
    for (const p of report.placed!) {
      expect(p.market).toBe("spot");
      expect(Object.values(subnets)).toContain(p.zone);
      expect(FAKE_CATALOG.map((t) => t.name)).toContain(p.instanceType);
    }
    const [p] = createFleets(fake);
    expect(p).toMatchObject({
      Type: "instant",
      "LaunchTemplateConfigs.1.LaunchTemplateSpecification.LaunchTemplateId": "lt-0123",
      "LaunchTemplateConfigs.1.LaunchTemplateSpecification.Version": "$Default",
      "LaunchTemplateConfigs.1.Overrides.1.SubnetId": "subnet-a",
      "LaunchTemplateConfigs.1.Overrides.2.SubnetId": "subnet-b",
      "LaunchTemplateConfigs.1.Overrides.1.InstanceRequirements.VCpuCount.Min": "4",
      "LaunchTemplateConfigs.1.Overrides.1.InstanceRequirements.MemoryMiB.Max": "16384",
      "LaunchTemplateConfigs.1.Overrides.1.InstanceRequirements.CpuManufacturer.1": "amazon-web-services",
      "LaunchTemplateConfigs.1.Overrides.1.InstanceRequirements.BurstablePerformance": "excluded",
      "TargetCapacitySpecification.TotalTargetCapacity": "3",
      "TargetCapacitySpecification.DefaultTargetCapacityType": "spot",
      "SpotOptions.AllocationStrategy": "price-capacity-optimized",
    });
    for (const id of report.launched) {
      const i = fake.instances.get(id)!;
      expect(i).toMatchObject({ market: "spot", tags: { [EC2_TAGS.grid]: "g1", [EC2_TAGS.pool]: "batch" } });
      expect(["c6g.xlarge", "c7g.xlarge", "m7g.xlarge"]).toContain(i.type); // arm, not burstable
    }
  });

  it("lists the pool's instances page by page, their agents' state from the tags they keep", async () => {
    const { fake, fleet } = await setup();
    const { launched } = await fleet.launch("batch", 5);
    // Another pool's and another grid's instances are not this pool's.
    const [other] = (await fleet.launch("batch", 1)).launched;
    fake.instances.get(other!)!.tags[EC2_TAGS.grid] = "g2";
    const [a, b, c, d] = launched.map((id) => fake.instances.get(id)!);
    for (const i of [a, b, c]) i!.state = "running";
    Object.assign(b!.tags, { [EC2_TAGS.agent]: "running", [EC2_TAGS.busy]: "3", [EC2_TAGS.idleSince]: "" });
    Object.assign(c!.tags, {
      [EC2_TAGS.agent]: "running",
      [EC2_TAGS.busy]: "0",
      [EC2_TAGS.idleSince]: "2026-11-24T10:00:00.000Z",
    });
    d!.state = "shutting-down";
    const agents = await fleet.list("batch");
    expect(agents).toHaveLength(5);
    const byId = new Map(agents.map((x) => [x.id, x]));
    expect(byId.get(a!.id)).toMatchObject({ state: "launching", busy: 0 }); // running, agent not up yet
    expect(byId.get(b!.id)).toMatchObject({ state: "running", busy: 3, idleSince: undefined });
    expect(byId.get(c!.id)).toMatchObject({
      state: "running",
      busy: 0,
      idleSince: Date.parse("2026-11-24T10:00:00Z"),
    });
    expect(byId.get(d!.id)).toMatchObject({ state: "stopping" });
    expect(byId.get(launched[4]!)).toMatchObject({ state: "launching" }); // pending
    // Each says its type and market; running ones are billed from their launch, pending and
    // shutting-down ones are not billed.
    for (const x of [a, b, c, d])
      expect(byId.get(x!.id)).toMatchObject({ instanceType: x!.type, market: x!.market });
    for (const x of [a, b, c]) expect(byId.get(x!.id)!.billedSince).toBe(x!.launchTime.getTime());
    expect(byId.get(d!.id)!.billedSince).toBeUndefined();
    expect(byId.get(launched[4]!)!.billedSince).toBeUndefined();
    expect(fake.requests.filter((r) => r.action === "DescribeInstances").length).toBeGreaterThan(1); // paged
  });

  it("stops agents by terminating their instances", async () => {
    const { fake, fleet } = await setup();
    const { launched } = await fleet.launch("batch", 2);
    await fleet.stop("batch", [launched[0]!]);
    expect(fake.instances.get(launched[0]!)!.state).toBe("shutting-down");
    expect(fake.instances.get(launched[1]!)!.state).toBe("pending");
  });

  it("widens after capacity errors: the next request excludes the failed types in their zones", async () => {
    const { fake, fleet } = await setup();
    // Spot: zone a has no c6g or c7g left; zone b none at all.
    for (const t of ["c6g.xlarge", "c7g.xlarge"]) fake.setCapacity(`spot|us-east-1a|${t}`, 0);
    for (const t of ["c6g.xlarge", "c7g.xlarge", "m7g.xlarge"]) fake.setCapacity(`spot|us-east-1b|${t}`, 0);
    fake.setCapacity("spot|us-east-1a|m7g.xlarge", 1);
    const first = await fleet.launch("batch", 2);
    expect(first.launched).toHaveLength(2); // 1 spot m7g in zone a, 1 on-demand
    expect(first.errors.map((e) => e.code)).toContain("InsufficientInstanceCapacity");
    expect(first.errors.every((e) => e.retryable)).toBe(true);
    const markets = first.launched.map((id) => fake.instances.get(id)!.market).sort();
    expect(markets).toEqual(["on-demand", "spot"]);
    await fleet.launch("batch", 1);
    const spotRequests = createFleets(fake).filter(
      (p) => p["TargetCapacitySpecification.DefaultTargetCapacityType"] === "spot",
    );
    const again = spotRequests[1]!;
    // The next spot request leaves out, per zone, the types that failed there.
    const excludedA = Object.entries(again)
      .filter(([k]) => /Overrides\.\d+\.InstanceRequirements\.ExcludedInstanceType/.test(k))
      .map(([, v]) => v);
    expect(excludedA).toEqual(expect.arrayContaining(["c6g.xlarge", "c7g.xlarge"]));
    expect(fleet.cooling("batch")).toEqual(
      expect.arrayContaining(["spot|us-east-1a|c6g.xlarge", "spot|us-east-1b|c7g.xlarge"]),
    );
  });

  it("reports throttling and faults as retryable and setup errors as not, without throwing", async () => {
    const { fake, fleet } = await setup();
    fake.failNext("RequestLimitExceeded");
    expect(await fleet.launch("batch", 1)).toEqual({
      launched: [],
      errors: [expect.objectContaining({ code: "RequestLimitExceeded", retryable: true })],
      placed: [],
    });
    fake.failNext("InternalError");
    expect((await fleet.launch("batch", 1)).errors[0]).toMatchObject({
      code: "InternalError",
      retryable: true,
    });
    const { fleet: broken } = await setup({ subnets: [{ id: "subnet-x", zone: "us-east-1a" }] });
    const report = await broken.launch("batch", 1);
    expect(report.errors[0]).toMatchObject({ code: "InvalidSubnetID.NotFound", retryable: false });
    await expect(fleet.list("nope")).rejects.toThrow('unknown agent pool "nope"');
  });

  it("uses on-demand only when the pool does not allow spot", async () => {
    const { fake, fleet } = await setup({ spot: false });
    await fleet.launch("batch", 2);
    expect(createFleets(fake).map((p) => p["TargetCapacitySpecification.DefaultTargetCapacityType"])).toEqual(
      ["on-demand"],
    );
  });
});
