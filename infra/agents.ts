/**
 * Agents: what the agent pools (TESSERA_AGENT_POOLS) need to run on EC2, and the EKS path.
 *
 * EC2, per pool: a launch template (Amazon Linux 2023 from its SSM parameter, IMDSv2 only, the
 * instance profile, user data that installs Node and starts the agent as a systemd service,
 * instance requirements by vCPU and memory ranges rather than one type, and the
 * `tessera:grid` / `tessera:pool` tags the monitoring rule and the scaler key on). The network
 * is a VPC with a public subnet in every Availability Zone, free gateway endpoints for S3 and
 * DynamoDB, and a security group with no ingress: no NAT gateway or interface endpoint, so
 * nothing is billed while no agent runs. Nothing here starts an instance: the scaler (its own
 * issue) launches through EC2 Fleet with these templates, choosing spot or on-demand per pool.
 *
 * EKS: with TESSERA_EKS_OIDC_PROVIDER_ARN set, an IAM role for the agent's service account
 * (IRSA) that packages/agent/k8s/agent.yaml names; KEDA scales the Deployment on the queues.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Accelerators,
  AcceleratorsSchema,
  instanceRequirementsOf,
} from "../packages/core/src/adapters/aws/ec2-fleet.ts";
import { parseInput } from "../packages/core/src/model/schemas.ts";
import type { GridDefinition } from "../packages/core/src/resources.ts";
import { agentBootScript } from "./agent-boot.ts";
import { AGENT_TAG_KEY } from "./monitoring.ts";
import { agentPermissions, type GridArns } from "./permissions.ts";
import type { queues as makeQueues } from "./queues.ts";
import { type LogGroupRef, logGroupResource } from "./task-logs.ts";

/** How one agent pool runs on EC2. */
export interface AgentPoolSettings {
  /** vCPUs per instance, inclusive range. @default [2, 16] */
  vcpu: [number, number];
  /** Memory per instance in GiB, inclusive range. @default [4, 64] */
  memoryGiB: [number, number];
  /** May the scaler use spot capacity (falling back to on-demand)? @default true */
  spot: boolean;
  /** Most instances at once. @default 10 */
  maxAgents: number;
  /** CPU architecture of the image and instances. @default "arm64" (Graviton) */
  arch: "arm64" | "x86_64";
  /** Seconds running tasks get to finish when an agent is stopped. @default 30 */
  graceSeconds: number;
  /**
   * GPUs (or other accelerators) per instance, e.g. `{"count":[1,4],"names":["a10g","l4"]}`
   * (manufacturers default to nvidia, types to gpu). @default none: CPU instance types only
   */
  accelerators?: Accelerators | undefined;
  /**
   * The machine image: `al2023` (Amazon Linux 2023), `al2023-nvidia` (AWS's Deep Learning Base
   * OSS Nvidia Driver GPU AMI, Amazon Linux 2023 with the NVIDIA driver and CUDA), or the id of
   * an image of your own (`ami-…`, with Node 24's `nodejs24` package installable by dnf).
   * @default "al2023", or "al2023-nvidia" for a pool with NVIDIA accelerators
   */
  image: string;
}

/** The SSM parameter of each named image, by architecture (AWS keeps them at the latest). */
export const IMAGE_PARAMETERS: Record<string, Record<AgentPoolSettings["arch"], string>> = {
  al2023: {
    arm64: "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
    x86_64: "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
  },
  "al2023-nvidia": {
    arm64: "/aws/service/deeplearning/ami/arm64/base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id",
    x86_64: "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id",
  },
};

/** The launch template's image: an SSM parameter the template resolves at launch, or an id. */
export function imageOf(s: AgentPoolSettings): string {
  return s.image.startsWith("ami-") ? s.image : `resolve:ssm:${IMAGE_PARAMETERS[s.image]![s.arch]}`;
}

/** A pool's instance requirements as the launch template takes them (Pulumi's casing). */
export function templateRequirements(s: AgentPoolSettings) {
  const r = instanceRequirementsOf(s);
  const span = (v: { Min?: number | undefined; Max?: number | undefined } | undefined) =>
    v && {
      ...(v.Min !== undefined ? { min: v.Min } : {}),
      ...(v.Max !== undefined ? { max: v.Max } : {}),
    };
  return {
    vcpuCount: { min: s.vcpu[0], max: s.vcpu[1] },
    memoryMib: { min: s.memoryGiB[0] * 1024, max: s.memoryGiB[1] * 1024 },
    cpuManufacturers: r.CpuManufacturers,
    burstablePerformance: r.BurstablePerformance,
    acceleratorCount: span(r.AcceleratorCount),
    acceleratorManufacturers: r.AcceleratorManufacturers,
    acceleratorTypes: r.AcceleratorTypes,
    acceleratorNames: r.AcceleratorNames,
    acceleratorTotalMemoryMib: span(r.AcceleratorTotalMemoryMiB),
  };
}

const DEFAULTS: AgentPoolSettings = {
  vcpu: [2, 16],
  memoryGiB: [4, 64],
  spot: true,
  maxAgents: 10,
  arch: "arm64",
  graceSeconds: 30,
  accelerators: undefined,
  image: "al2023",
};

function range(value: unknown, where: string): [number, number] {
  if (
    !Array.isArray(value) ||
    value.length !== 2 ||
    !value.every((v) => Number.isInteger(v) && v > 0) ||
    value[0] > value[1]
  ) {
    throw new Error(`${where} must be [min, max], whole numbers with 0 < min <= max`);
  }
  return [value[0], value[1]];
}

/**
 * Per-pool settings from TESSERA_AGENT_POOL_SETTINGS, a JSON object keyed by pool, e.g.
 * `{"gpu":{"vcpu":[4,16],"memoryGiB":[16,64],"spot":false,"maxAgents":4}}`; unset fields keep
 * their defaults. A bad value stops the deploy with an error naming the field.
 */
export function agentPoolSettings(
  pools: string[],
  json = process.env.TESSERA_AGENT_POOL_SETTINGS,
): Record<string, AgentPoolSettings> {
  let given: Record<string, Record<string, unknown>> = {};
  if (json) {
    try {
      given = JSON.parse(json);
    } catch {
      throw new Error("TESSERA_AGENT_POOL_SETTINGS is not valid JSON");
    }
    if (typeof given !== "object" || given === null || Array.isArray(given))
      throw new Error("TESSERA_AGENT_POOL_SETTINGS must be a JSON object keyed by pool");
    for (const pool of Object.keys(given))
      if (!pools.includes(pool))
        throw new Error(
          `TESSERA_AGENT_POOL_SETTINGS.${pool}: not an agent pool (TESSERA_AGENT_POOLS: ${pools.join(", ")})`,
        );
  }
  return Object.fromEntries(
    pools.map((pool) => {
      const g = given[pool] ?? {};
      const at = (field: string) => `TESSERA_AGENT_POOL_SETTINGS.${pool}.${field}`;
      const s: AgentPoolSettings = { ...DEFAULTS };
      if (g.vcpu !== undefined) s.vcpu = range(g.vcpu, at("vcpu"));
      if (g.memoryGiB !== undefined) s.memoryGiB = range(g.memoryGiB, at("memoryGiB"));
      if (g.spot !== undefined) {
        if (typeof g.spot !== "boolean") throw new Error(`${at("spot")} must be true or false`);
        s.spot = g.spot;
      }
      if (g.maxAgents !== undefined) {
        if (!Number.isInteger(g.maxAgents) || (g.maxAgents as number) < 1)
          throw new Error(`${at("maxAgents")} must be a whole number of at least 1`);
        s.maxAgents = g.maxAgents as number;
      }
      if (g.arch !== undefined) {
        if (g.arch !== "arm64" && g.arch !== "x86_64")
          throw new Error(`${at("arch")} must be "arm64" or "x86_64"`);
        s.arch = g.arch;
      }
      if (g.graceSeconds !== undefined) {
        if (!Number.isInteger(g.graceSeconds) || (g.graceSeconds as number) < 0)
          throw new Error(`${at("graceSeconds")} must be a whole number of seconds`);
        s.graceSeconds = g.graceSeconds as number;
      }
      if (g.accelerators !== undefined) {
        s.accelerators = parseInput(AcceleratorsSchema, g.accelerators, at("accelerators"));
        // GPU types are x86 but for G5g (and Grace-based P6e, not matched by Graviton's maker):
        // an accelerator pool is x86_64 unless it says arm64.
        if (g.arch === undefined) s.arch = "x86_64";
      }
      if (g.image !== undefined) {
        if (
          typeof g.image !== "string" ||
          !(g.image in IMAGE_PARAMETERS || /^ami-[0-9a-f]{8,17}$/.test(g.image))
        )
          throw new Error(
            `${at("image")} must be ${Object.keys(IMAGE_PARAMETERS).join(", ")} or an ami-… id`,
          );
        s.image = g.image;
      } else if (s.accelerators?.manufacturers.includes("nvidia")) s.image = "al2023-nvidia";
      const unknown = Object.keys(g).filter((k) => !(k in DEFAULTS));
      if (unknown.length > 0) throw new Error(`${at(unknown[0]!)}: unknown setting`);
      return [pool, s];
    }),
  );
}

/** Task modules the EC2 agents run (repository paths); the API's handler catalogue lists their tasks. */
export const TASK_MODULES = (process.env.TESSERA_AGENT_TASKS ?? "examples/echo.ts,examples/option-pricing.ts")
  .split(",")
  .map((m) => m.trim())
  .filter(Boolean);

/**
 * The agent as the instances fetch it: one bundled file with its task modules, and piscina
 * beside it (scripts/build-agent.ts), zipped reproducibly and kept under its own hash in
 * .sst/agent/, so the key it is uploaded under changes exactly when the code does (a new
 * launch template version then boots the new code).
 */
async function agentCode(): Promise<{ zip: string; sha256: string; bytes: number }> {
  const { buildAgentBundle } = await import("../scripts/build-agent.ts");
  mkdirSync(".sst/agent", { recursive: true });
  const work = mkdtempSync(join(tmpdir(), "tessera-agent-"));
  try {
    // SST evaluates this file bundled elsewhere: the repository is the working directory.
    const built = await buildAgentBundle({
      tasks: TASK_MODULES,
      outDir: join(work, "agent"),
      root: process.cwd(),
    });
    const zip = join(".sst/agent", `${built.zipSha256}.zip`);
    if (!existsSync(zip)) {
      // Concurrent deploys (or graph tests) of the same code write the same bytes: rename is atomic.
      const part = `${zip}.${process.pid}`;
      copyFileSync(built.zip, part);
      renameSync(part, zip);
    }
    pruneAgentZips(".sst/agent", zip);
    return { zip, sha256: built.zipSha256, bytes: built.zipBytes };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Zips of earlier builds kept beside the current one (a deploy of older code reuses its own). */
const KEEP_AGENT_ZIPS = 4;

/**
 * Removes the oldest agent zips of `dir` beyond the newest KEEP_AGENT_ZIPS, never `current`:
 * each code change adds one, and nothing else ever removed them.
 */
export function pruneAgentZips(dir: string, current: string): void {
  const zips = readdirSync(dir)
    .filter((f) => f.endsWith(".zip"))
    .map((f) => join(dir, f))
    .filter((f) => f !== current)
    .map((f) => ({ f, at: statSync(f, { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
    .sort((a, b) => b.at - a.at);
  for (const { f } of zips.slice(KEEP_AGENT_ZIPS)) rmSync(f, { force: true });
}

/** Node's major version the agents run: the one the repository pins (package node@24). */
const NODE_MAJOR = 24;

export async function agents(
  grid: GridDefinition,
  pools: string[],
  arns: GridArns,
  ticketQueues: ReturnType<typeof makeQueues>["ticketQueues"],
  bucket: { name: $util.Input<string>; arn: $util.Input<string> },
  environment: Record<string, $util.Input<string>>,
  /** The agents' task log group (infra/task-logs.ts); exists whenever there are agent pools. */
  taskLogs: LogGroupRef | undefined,
) {
  if (pools.length === 0) return undefined;
  if (!taskLogs) throw new Error("agent pools need the agents' task log group (infra/task-logs.ts)");
  // Each agent ships its tasks' log entries to this group, where the API's logs route reads them.
  const agentEnvironment = { ...environment, TESSERA_TASK_LOG_GROUP: taskLogs.name };
  const taskLogsResource = logGroupResource(taskLogs.arn);
  const settings = agentPoolSettings(pools);
  const prefix = grid.table.name.replace(/-tasks$/, "");
  const { partition } = aws.getPartitionOutput();
  const region = aws.getRegionOutput().name;
  const account = aws.getCallerIdentityOutput().accountId;
  const queuesOf = (pool: string) => ticketQueues.filter((q) => q.pool === pool).map((q) => q.queue.arn);

  // Network: a public subnet in every Availability Zone; no NAT, so idle costs nothing.
  // Availability Zones proper: not Local or Wavelength Zones the account may have opted into.
  const zones = await aws.getAvailabilityZones({
    state: "available",
    filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }],
  });
  const vpc = new aws.ec2.Vpc("AgentVpc", {
    cidrBlock: "10.42.0.0/16",
    enableDnsHostnames: true,
    enableDnsSupport: true,
    tags: { Name: `${prefix}-agents` },
  });
  const gateway = new aws.ec2.InternetGateway("AgentGateway", { vpcId: vpc.id });
  const routes = new aws.ec2.RouteTable("AgentRoutes", {
    vpcId: vpc.id,
    routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: gateway.id }],
  });
  const subnets = zones.names.map((zone, i) => {
    const subnet = new aws.ec2.Subnet(`AgentSubnet${i}`, {
      vpcId: vpc.id,
      availabilityZone: zone,
      cidrBlock: `10.42.${i * 16}.0/20`,
      mapPublicIpOnLaunch: true,
      tags: { Name: `${prefix}-agents-${zone}` },
    });
    new aws.ec2.RouteTableAssociation(`AgentSubnet${i}Routes`, {
      subnetId: subnet.id,
      routeTableId: routes.id,
    });
    return subnet;
  });
  // Gateway endpoints are free and keep S3 and DynamoDB traffic off the internet.
  for (const service of ["s3", "dynamodb"]) {
    new aws.ec2.VpcEndpoint(`AgentEndpoint${service}`, {
      vpcId: vpc.id,
      // Gateway endpoints are `com.amazonaws.<region>.<service>` in every partition (aws-cn too).
      serviceName: $interpolate`com.amazonaws.${region}.${service}`,
      vpcEndpointType: "Gateway",
      routeTableIds: [routes.id],
    });
  }
  // No ingress at all; egress only HTTPS, to AWS's APIs (SQS, EC2 tags, STS). The boot needs no
  // internet: Node from Amazon Linux's repositories and the agent from the bucket, both via S3.
  const securityGroup = new aws.ec2.SecurityGroup("AgentSecurityGroup", {
    vpcId: vpc.id,
    description: "Tessera agents: no ingress, HTTPS egress only",
    egress: [
      { protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"] },
    ],
  });

  const built = await agentCode();
  const codeKey = `agent/${built.sha256}.zip`;
  new aws.s3.BucketObjectv2("AgentCode", {
    bucket: bucket.name,
    key: codeKey,
    source: new $util.asset.FileAsset(built.zip),
  });
  const codeArn = $interpolate`${bucket.arn}/${codeKey}`;

  const templates: Record<string, { launchTemplate: $util.Output<string>; settings: AgentPoolSettings }> = {};
  const launchTemplateArns: $util.Output<string>[] = [];
  const roleArns: $util.Output<string>[] = [];
  for (const pool of pools) {
    const s = settings[pool]!;
    const id = pool.replace(/[^A-Za-z0-9]/g, "");
    const role = new aws.iam.Role(`Agent${id}Role`, {
      assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: "ec2.amazonaws.com" }),
    });
    new aws.iam.RolePolicy(`Agent${id}Policy`, {
      role: role.id,
      policy: aws.iam.getPolicyDocumentOutput({
        statements: agentPermissions(arns, queuesOf(pool), taskLogsResource, {
          bundle: codeArn,
          grid: prefix,
          partition,
          region,
          account,
        }),
      }).json,
    });
    const profile = new aws.iam.InstanceProfile(`Agent${id}Profile`, { role: role.name });
    const template = new aws.ec2.LaunchTemplate(`Agent${id}Template`, {
      namePrefix: `${prefix}-${pool}-`,
      description: `Tessera agent, pool ${pool}`,
      imageId: imageOf(s),
      iamInstanceProfile: { arn: profile.arn },
      vpcSecurityGroupIds: [securityGroup.id],
      instanceRequirements: templateRequirements(s),
      metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", instanceMetadataTags: "enabled" },
      instanceInitiatedShutdownBehavior: "terminate",
      userData: $util
        .all([region, bucket.name, $util.all(agentEnvironment)])
        .apply(([region, bucketName, env]) =>
          agentBootScript({
            pool,
            region,
            bucket: bucketName,
            codeKey,
            codeSha256: built.sha256,
            nodeMajor: NODE_MAJOR,
            graceSeconds: s.graceSeconds,
            environment: env,
          }),
        )
        .apply((script) => Buffer.from(script).toString("base64")),
      tagSpecifications: ["instance", "volume"].map((resourceType) => ({
        resourceType,
        tags: { [AGENT_TAG_KEY]: prefix, "tessera:pool": pool, Name: `${prefix}-${pool}-agent` },
      })),
      updateDefaultVersion: true,
    });
    templates[pool] = { launchTemplate: template.id, settings: s };
    launchTemplateArns.push(template.arn);
    roleArns.push(role.arn);
  }

  const oidc = process.env.TESSERA_EKS_OIDC_PROVIDER_ARN;
  const namespace = process.env.TESSERA_EKS_NAMESPACE ?? "default";
  const kedaNamespace = process.env.TESSERA_KEDA_NAMESPACE ?? "keda";
  let eksRole: aws.iam.Role | undefined;
  if (oidc) {
    const issuer = oidc.slice(oidc.indexOf("oidc-provider/") + "oidc-provider/".length);
    if (!/^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/./.test(oidc))
      throw new Error("TESSERA_EKS_OIDC_PROVIDER_ARN must be an arn:aws:iam::…:oidc-provider/… ARN");
    eksRole = new aws.iam.Role("AgentEksRole", {
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { Federated: oidc },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: {
              StringEquals: {
                // The agent's service account, and KEDA's operator, which reads the queue depths
                // with this role (identityOwner: workload in packages/agent/k8s/agent.yaml).
                [`${issuer}:sub`]: [
                  `system:serviceaccount:${namespace}:tessera-agent`,
                  `system:serviceaccount:${kedaNamespace}:keda-operator`,
                ],
                [`${issuer}:aud`]: "sts.amazonaws.com",
              },
            },
          },
        ],
      }),
    });
    new aws.iam.RolePolicy("AgentEksPolicy", {
      role: eksRole.id,
      policy: aws.iam.getPolicyDocumentOutput({
        statements: agentPermissions(arns, pools.flatMap(queuesOf), taskLogsResource),
      }).json,
    });
  }
  return {
    pools: templates,
    subnets: subnets.map((s) => s.id),
    securityGroup: securityGroup.id,
    eksRole: eksRole?.arn,
    /** For the fleet scaler (infra/fleet.ts). */
    scaling: {
      prefix,
      zones: subnets.map((s, i) => ({ id: s.id, zone: zones.names[i]!, arn: s.arn })),
      securityGroupArn: securityGroup.arn,
      launchTemplateArns,
      roleArns,
      agentQueues: pools.flatMap(queuesOf),
    },
  };
}
