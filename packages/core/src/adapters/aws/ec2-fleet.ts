/**
 * The EC2 fleet adapter: an agent pool's instances through the AWS SDK v3.
 *
 * - Launch: EC2 Fleet, type `instant` (a synchronous call that returns the instances it started
 *   and an error per capacity pool it could not use), on the pool's launch template, with one
 *   override per Availability Zone's subnet carrying attribute-based instance requirements
 *   (vCPU and memory ranges, the CPU maker of the architecture, no burstable types), spot with
 *   the price-capacity-optimized strategy where the pool allows it, then on-demand
 *   (lowest-price) for what spot could not give. Capacity pools that fail are cooled and left
 *   out of the next requests (`CapacityLauncher`): other types by `ExcludedInstanceTypes`,
 *   other zones by dropping the subnet.
 * - List: DescribeInstances on the grid and pool tags. Whether an agent is busy comes from the
 *   tags it keeps on its own instance (`tessera:agent`, `tessera:busy`, `tessera:idle-since`,
 *   `tessera:slots`; see packages/agent/src/ec2-status.ts): a running instance without them is
 *   still booting.
 * - Stop: TerminateInstances. The OS shutdown stops the agent's systemd unit with SIGTERM, so
 *   it drains (the scaler only stops idle agents, so there is rarely anything to drain).
 */
import {
  AcceleratorManufacturer,
  AcceleratorName,
  AcceleratorType,
  CreateFleetCommand,
  type CreateFleetCommandOutput,
  type EC2Client,
  type Instance,
  type InstanceRequirementsRequest,
  paginateDescribeInstances,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { z } from "zod";
import {
  type CapacityApi,
  CapacityLauncher,
  type CapacityRequest,
  type CapacityResponse,
} from "../../fleet/capacity.ts";
import type { FleetPort, LaunchReport } from "../../fleet/ports.ts";
import type { FleetAgent } from "../../fleet/scaler.ts";

/** Tag keys on agent instances. */
export const EC2_TAGS = {
  grid: "tessera:grid",
  pool: "tessera:pool",
  /** The agent's state: `running` once it takes work, `draining` once it stops. */
  agent: "tessera:agent",
  /** Tasks it runs now. */
  busy: "tessera:busy",
  /** ISO time it last became idle; empty while busy. */
  idleSince: "tessera:idle-since",
  /** Tasks it runs at once. */
  slots: "tessera:slots",
  /** ISO time it began to drain. */
  drainingSince: "tessera:draining-since",
} as const;

const range = z
  .tuple([z.number().int().positive(), z.number().int().positive()])
  .refine(([min, max]) => min <= max, "min must not exceed max");

/**
 * GPUs (or other accelerators) an agent pool's instances must have. Without it a pool gets
 * instance types with no accelerator at all: attribute-based selection picks the cheapest
 * types that match, and a GPU pool left at the defaults would get CPU types.
 */
export const AcceleratorsSchema = z
  .object({
    /** Accelerators per instance, inclusive range. */
    count: range.default([1, 1]),
    /** @default ["nvidia"] */
    manufacturers: z
      .array(z.enum(Object.values(AcceleratorManufacturer) as [string, ...string[]]))
      .min(1)
      .default(["nvidia"]),
    /** @default ["gpu"] */
    types: z
      .array(z.enum(Object.values(AcceleratorType) as [string, ...string[]]))
      .min(1)
      .default(["gpu"]),
    /** Only these models (e.g. ["a10g", "l4", "t4"]). @default any */
    names: z
      .array(z.enum(Object.values(AcceleratorName) as [string, ...string[]]))
      .min(1)
      .optional(),
    /** Total accelerator memory per instance, GiB, inclusive range. @default any */
    memoryGiB: range.optional(),
  })
  .strict();
export type Accelerators = z.output<typeof AcceleratorsSchema>;

/** What an instance of a pool must be: the same on its launch template and in each launch. */
export interface InstanceShape {
  vcpu: [number, number];
  memoryGiB: [number, number];
  arch: "arm64" | "x86_64";
  accelerators?: Accelerators | undefined;
}

/** Attribute-based instance requirements of a pool (CreateFleet's casing). */
export function instanceRequirementsOf(c: InstanceShape): InstanceRequirementsRequest {
  const a = c.accelerators;
  return {
    VCpuCount: { Min: c.vcpu[0], Max: c.vcpu[1] },
    MemoryMiB: { Min: c.memoryGiB[0] * 1024, Max: c.memoryGiB[1] * 1024 },
    CpuManufacturers: c.arch === "arm64" ? ["amazon-web-services"] : ["intel", "amd"],
    BurstablePerformance: "excluded",
    ...(a
      ? {
          AcceleratorCount: { Min: a.count[0], Max: a.count[1] },
          AcceleratorManufacturers: a.manufacturers as AcceleratorManufacturer[],
          AcceleratorTypes: a.types as AcceleratorType[],
          ...(a.names ? { AcceleratorNames: a.names as AcceleratorName[] } : {}),
          ...(a.memoryGiB
            ? { AcceleratorTotalMemoryMiB: { Min: a.memoryGiB[0] * 1024, Max: a.memoryGiB[1] * 1024 } }
            : {}),
        }
      : // A CPU pool: no GPU type, however cheap a spot price makes one look.
        { AcceleratorCount: { Max: 0 } }),
  };
}

/** One agent pool on EC2 (from the stack's outputs). */
export interface Ec2PoolConfig extends InstanceShape {
  launchTemplateId: string;
  /** @default "$Default" (the stack keeps the newest version as the default) */
  launchTemplateVersion?: string;
  subnets: Array<{ id: string; zone: string }>;
  vcpu: [number, number];
  memoryGiB: [number, number];
  arch: "arm64" | "x86_64";
  spot: boolean;
}

export interface Ec2FleetOptions {
  ec2: EC2Client;
  /** The `tessera:grid` tag value of this grid's instances. */
  grid: string;
  pools: Record<string, Ec2PoolConfig>;
  /** @default Date.now */
  now?: () => number;
  /** First cooling period of a failed capacity pool, ms. @default 60_000 */
  coolMs?: number;
}

/** The CreateFleet call behind the capacity launcher. */
class CreateFleetApi implements CapacityApi {
  readonly #ec2: EC2Client;
  readonly #grid: string;
  readonly #pool: string;
  readonly #config: Ec2PoolConfig;

  constructor(ec2: EC2Client, grid: string, pool: string, config: Ec2PoolConfig) {
    this.#ec2 = ec2;
    this.#grid = grid;
    this.#pool = pool;
    this.#config = config;
  }

  async request(r: CapacityRequest): Promise<CapacityResponse> {
    const c = this.#config;
    const zoneOfSubnet = new Map(c.subnets.map((s) => [s.id, s.zone]));
    const out: CreateFleetCommandOutput = await this.#ec2.send(
      new CreateFleetCommand({
        Type: "instant",
        LaunchTemplateConfigs: [
          {
            LaunchTemplateSpecification: {
              LaunchTemplateId: c.launchTemplateId,
              Version: c.launchTemplateVersion ?? "$Default",
            },
            Overrides: c.subnets
              .filter((s) => r.zones.includes(s.zone))
              .map((s) => ({
                SubnetId: s.id,
                InstanceRequirements: {
                  ...instanceRequirementsOf(c),
                  ...(r.excludedTypes[s.zone]?.length
                    ? { ExcludedInstanceTypes: r.excludedTypes[s.zone] }
                    : {}),
                },
              })),
          },
        ],
        TargetCapacitySpecification: {
          TotalTargetCapacity: r.count,
          DefaultTargetCapacityType: r.market,
          ...(r.market === "spot" ? { SpotTargetCapacity: r.count } : { OnDemandTargetCapacity: r.count }),
        },
        SpotOptions: { AllocationStrategy: "price-capacity-optimized" },
        OnDemandOptions: { AllocationStrategy: "lowest-price" },
        TagSpecifications: [
          {
            ResourceType: "instance",
            Tags: [
              { Key: EC2_TAGS.grid, Value: this.#grid },
              { Key: EC2_TAGS.pool, Value: this.#pool },
            ],
          },
        ],
      }),
    );
    const zoneOf = (o: { AvailabilityZone?: string; SubnetId?: string } | undefined) =>
      o?.AvailabilityZone ?? (o?.SubnetId ? zoneOfSubnet.get(o.SubnetId) : undefined);
    const response: CapacityResponse = { instances: [], errors: [] };
    for (const group of out.Instances ?? []) {
      const overrides = group.LaunchTemplateAndOverrides?.Overrides;
      for (const id of group.InstanceIds ?? [])
        response.instances.push({
          id,
          zone: zoneOf(overrides) ?? "unknown",
          instanceType: group.InstanceType ?? overrides?.InstanceType ?? "unknown",
        });
    }
    for (const e of out.Errors ?? []) {
      const overrides = e.LaunchTemplateAndOverrides?.Overrides;
      response.errors.push({
        code: e.ErrorCode ?? "Unknown",
        message: e.ErrorMessage ?? "",
        zone: zoneOf(overrides),
        instanceType: overrides?.InstanceType,
      });
    }
    return response;
  }
}

/** Agent pools on EC2. */
export class Ec2Fleet implements FleetPort {
  readonly #o: Ec2FleetOptions;
  readonly #launchers = new Map<string, CapacityLauncher>();

  constructor(options: Ec2FleetOptions) {
    this.#o = options;
    for (const [pool, config] of Object.entries(options.pools)) {
      if (config.subnets.length === 0) throw new Error(`pool "${pool}" has no subnet`);
      this.#launchers.set(
        pool,
        new CapacityLauncher({
          api: new CreateFleetApi(options.ec2, options.grid, pool, config),
          zones: [...new Set(config.subnets.map((s) => s.zone))],
          spot: config.spot,
          now: options.now ?? Date.now,
          coolMs: options.coolMs,
        }),
      );
    }
  }

  /** Capacity pools left out now, per agent pool (for reports). */
  cooling(pool: string): string[] {
    return this.#launcher(pool).cooling();
  }

  async list(pool: string): Promise<FleetAgent[]> {
    this.#launcher(pool);
    const agents: FleetAgent[] = [];
    const pages = paginateDescribeInstances(
      { client: this.#o.ec2 },
      {
        Filters: [
          { Name: `tag:${EC2_TAGS.grid}`, Values: [this.#o.grid] },
          { Name: `tag:${EC2_TAGS.pool}`, Values: [pool] },
          { Name: "instance-state-name", Values: ["pending", "running", "stopping", "shutting-down"] },
        ],
      },
    );
    for await (const page of pages)
      for (const reservation of page.Reservations ?? [])
        for (const instance of reservation.Instances ?? []) {
          const agent = toAgent(instance);
          if (agent) agents.push(agent);
        }
    return agents;
  }

  launch(pool: string, count: number): Promise<LaunchReport> {
    return this.#launcher(pool).launch(count);
  }

  async stop(pool: string, ids: readonly string[]): Promise<void> {
    this.#launcher(pool);
    for (let i = 0; i < ids.length; i += 1_000)
      await this.#o.ec2.send(new TerminateInstancesCommand({ InstanceIds: ids.slice(i, i + 1_000) }));
  }

  #launcher(pool: string): CapacityLauncher {
    const launcher = this.#launchers.get(pool);
    if (!launcher) throw new Error(`unknown agent pool "${pool}"`);
    return launcher;
  }
}

/** An instance as the scaler sees it (undefined for one with no id). */
function toAgent(instance: Instance): FleetAgent | undefined {
  if (!instance.InstanceId) return undefined;
  const tags = new Map((instance.Tags ?? []).map((t) => [t.Key ?? "", t.Value ?? ""]));
  const launchedAt = instance.LaunchTime?.getTime() ?? Date.now();
  const ec2State = instance.State?.Name;
  const base = {
    id: instance.InstanceId,
    launchedAt,
    instanceType: instance.InstanceType,
    market: instance.InstanceLifecycle === "spot" ? ("spot" as const) : ("on-demand" as const),
    // EC2 bills running instances only (not pending, stopping or shutting-down ones). LaunchTime
    // is the launch request, so a first pass may count a little of the pending time.
    billedSince: ec2State === "running" ? launchedAt : undefined,
  };
  if (ec2State === "stopping" || ec2State === "shutting-down") return { ...base, state: "stopping", busy: 0 };
  const agentState = tags.get(EC2_TAGS.agent);
  if (ec2State !== "running" || agentState === undefined) return { ...base, state: "launching", busy: 0 };
  if (agentState !== "running") {
    const since = Date.parse(tags.get(EC2_TAGS.drainingSince) ?? "");
    return { ...base, state: "stopping", busy: 0, drainingSince: Number.isNaN(since) ? undefined : since };
  }
  const busy = Number(tags.get(EC2_TAGS.busy) ?? 0) || 0;
  const idleSince = Date.parse(tags.get(EC2_TAGS.idleSince) ?? "");
  return {
    ...base,
    state: "running",
    busy,
    idleSince: busy === 0 && !Number.isNaN(idleSince) ? idleSince : undefined,
    slots: Number(tags.get(EC2_TAGS.slots)) || undefined,
  };
}
