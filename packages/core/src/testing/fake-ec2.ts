/**
 * A stand-in for the EC2 API on 127.0.0.1, speaking its wire protocol (the EC2 Query protocol:
 * form-encoded requests, XML answers), so the EC2 fleet adapter is tested through the real
 * AWS SDK client. It models what the fleet needs: CreateFleet (instant) with attribute-based
 * instance requirements over a small catalog, capacity per market × zone × type that runs out,
 * DescribeInstances with tag and state filters, TerminateInstances and CreateTags. Whole
 * requests can be made to fail (`failNext`), as EC2 does when throttling.
 */
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeInstanceType {
  name: string;
  vcpu: number;
  memoryMiB: number;
  maker: "amazon-web-services" | "intel" | "amd";
  burstable?: boolean;
}

export interface FakeInstance {
  id: string;
  type: string;
  zone: string;
  subnetId: string;
  market: "spot" | "on-demand";
  launchTemplateId: string;
  state: "pending" | "running" | "shutting-down" | "terminated";
  launchTime: Date;
  tags: Record<string, string>;
}

export interface FakeEc2 {
  endpoint: string;
  instances: Map<string, FakeInstance>;
  /** Every request: its action and its decoded parameters. */
  requests: Array<{ action: string; params: Record<string, string> }>;
  /** Sets what a capacity pool (`market|zone|type`) can still give (default: unlimited). */
  setCapacity(pool: string, count: number): void;
  /** Answers the next request(s) with this error code instead. */
  failNext(code: string, times?: number): void;
  close(): Promise<void>;
}

export const FAKE_CATALOG: FakeInstanceType[] = [
  { name: "c6g.xlarge", vcpu: 4, memoryMiB: 8_192, maker: "amazon-web-services" },
  { name: "c7g.xlarge", vcpu: 4, memoryMiB: 8_192, maker: "amazon-web-services" },
  { name: "m7g.xlarge", vcpu: 4, memoryMiB: 16_384, maker: "amazon-web-services" },
  { name: "t4g.xlarge", vcpu: 4, memoryMiB: 16_384, maker: "amazon-web-services", burstable: true },
  { name: "c7i.xlarge", vcpu: 4, memoryMiB: 8_192, maker: "intel" },
  { name: "m7a.xlarge", vcpu: 4, memoryMiB: 16_384, maker: "amd" },
];

const STATE_CODES = { pending: 0, running: 16, "shutting-down": 32, terminated: 48 } as const;
const xmlEscape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const el = (name: string, value: string | number | undefined) =>
  value === undefined ? "" : `<${name}>${xmlEscape(String(value))}</${name}>`;
const items = <T>(name: string, list: T[], render: (t: T) => string) =>
  `<${name}>${list.map((t) => `<item>${render(t)}</item>`).join("")}</${name}>`;

/** `Prefix.N` values of a list parameter, in order. */
function list(params: Record<string, string>, prefix: string): string[] {
  const out: string[] = [];
  for (let i = 1; params[`${prefix}.${i}`] !== undefined; i++) out.push(params[`${prefix}.${i}`]!);
  return out;
}

class EcError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status = 400) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/** Starts the fake on a free port. `subnets` maps subnet ids to zones. */
export async function startFakeEc2(options: {
  subnets: Record<string, string>;
  catalog?: FakeInstanceType[];
}): Promise<FakeEc2> {
  const catalog = options.catalog ?? FAKE_CATALOG;
  const instances = new Map<string, FakeInstance>();
  const capacity = new Map<string, number>();
  const requests: FakeEc2["requests"] = [];
  const failures: string[] = [];
  let seq = 0;

  function matches(t: FakeInstanceType, params: Record<string, string>, prefix: string): boolean {
    const num = (k: string) =>
      params[`${prefix}.${k}`] === undefined ? undefined : Number(params[`${prefix}.${k}`]);
    if (params[`${prefix}.VCpuCount.Min`] === undefined || params[`${prefix}.MemoryMiB.Min`] === undefined)
      throw new EcError("InvalidParameterValue", "InstanceRequirements need VCpuCount and MemoryMiB");
    if (t.vcpu < num("VCpuCount.Min")! || t.vcpu > (num("VCpuCount.Max") ?? Number.POSITIVE_INFINITY))
      return false;
    if (
      t.memoryMiB < num("MemoryMiB.Min")! ||
      t.memoryMiB > (num("MemoryMiB.Max") ?? Number.POSITIVE_INFINITY)
    )
      return false;
    const makers = list(params, `${prefix}.CpuManufacturer`);
    if (makers.length > 0 && !makers.includes(t.maker)) return false;
    if (list(params, `${prefix}.ExcludedInstanceType`).includes(t.name)) return false;
    const burstable = params[`${prefix}.BurstablePerformance`] ?? "excluded";
    if (t.burstable && burstable === "excluded") return false;
    return true;
  }

  function createFleet(p: Record<string, string>): string {
    if (p.Type !== "instant")
      throw new EcError("InvalidParameterValue", "this fake serves instant fleets only");
    const total = Number(p["TargetCapacitySpecification.TotalTargetCapacity"]);
    const market = p["TargetCapacitySpecification.DefaultTargetCapacityType"] as "spot" | "on-demand";
    if (!(total > 0) || (market !== "spot" && market !== "on-demand"))
      throw new EcError("InvalidParameterValue", "TargetCapacitySpecification is required");
    const launchTemplateId = p["LaunchTemplateConfigs.1.LaunchTemplateSpecification.LaunchTemplateId"];
    if (!launchTemplateId) throw new EcError("MissingParameter", "LaunchTemplateSpecification is required");
    const tags: Record<string, string> = {};
    for (let i = 1; p[`TagSpecification.${i}.ResourceType`] !== undefined; i++) {
      if (p[`TagSpecification.${i}.ResourceType`] !== "instance") continue;
      for (let j = 1; p[`TagSpecification.${i}.Tag.${j}.Key`] !== undefined; j++)
        tags[p[`TagSpecification.${i}.Tag.${j}.Key`]!] = p[`TagSpecification.${i}.Tag.${j}.Value`] ?? "";
    }
    // Candidate pools: each override's subnet × the catalog types matching its requirements.
    const pools: Array<{ subnetId: string; zone: string; type: FakeInstanceType }> = [];
    for (let o = 1; p[`LaunchTemplateConfigs.1.Overrides.${o}.SubnetId`] !== undefined; o++) {
      const subnetId = p[`LaunchTemplateConfigs.1.Overrides.${o}.SubnetId`]!;
      const zone = options.subnets[subnetId];
      if (!zone) throw new EcError("InvalidSubnetID.NotFound", `The subnet ID '${subnetId}' does not exist`);
      for (const type of catalog)
        if (matches(type, p, `LaunchTemplateConfigs.1.Overrides.${o}.InstanceRequirements`))
          pools.push({ subnetId, zone, type });
    }
    const made: FakeInstance[] = [];
    const errors: Array<{ subnetId: string; zone: string; type: string; code: string }> = [];
    for (const pool of pools) {
      if (made.length >= total) break;
      const key = `${market}|${pool.zone}|${pool.type.name}`;
      const free = capacity.get(key) ?? Number.POSITIVE_INFINITY;
      if (free <= 0) {
        errors.push({ ...pool, type: pool.type.name, code: "InsufficientInstanceCapacity" });
        continue;
      }
      const n = Math.min(free, total - made.length);
      if (Number.isFinite(free)) capacity.set(key, free - n);
      for (let i = 0; i < n; i++) {
        const instance: FakeInstance = {
          id: `i-${(++seq).toString(16).padStart(17, "0")}`,
          type: pool.type.name,
          zone: pool.zone,
          subnetId: pool.subnetId,
          market,
          launchTemplateId,
          state: "pending",
          launchTime: new Date(),
          tags: { ...tags },
        };
        instances.set(instance.id, instance);
        made.push(instance);
      }
    }
    const overrides = (x: { type: string; subnetId: string; zone: string }) =>
      `<launchTemplateAndOverrides><launchTemplateSpecification>${el("launchTemplateId", launchTemplateId)}</launchTemplateSpecification>` +
      `<overrides>${el("instanceType", x.type)}${el("subnetId", x.subnetId)}${el("availabilityZone", x.zone)}</overrides></launchTemplateAndOverrides>`;
    const byPool = new Map<string, FakeInstance[]>();
    for (const i of made)
      byPool.set(`${i.subnetId}|${i.type}`, [...(byPool.get(`${i.subnetId}|${i.type}`) ?? []), i]);
    return (
      el("fleetId", `fleet-${randomUUID()}`) +
      items("errorSet", errors, (e) =>
        [
          overrides(e),
          el("lifecycle", market),
          el("errorCode", e.code),
          el("errorMessage", `There is no ${market} capacity for ${e.type} in ${e.zone}.`),
        ].join(""),
      ) +
      items("fleetInstanceSet", [...byPool.values()], (group) => {
        const first = group[0]!;
        return (
          overrides({ type: first.type, subnetId: first.subnetId, zone: first.zone }) +
          el("lifecycle", market) +
          items("instanceIds", group, (i) => xmlEscape(i.id)) +
          el("instanceType", first.type)
        );
      })
    );
  }

  function describeInstances(p: Record<string, string>): string {
    let found = [...instances.values()];
    for (let f = 1; p[`Filter.${f}.Name`] !== undefined; f++) {
      const name = p[`Filter.${f}.Name`]!;
      const values = list(p, `Filter.${f}.Value`);
      if (name === "instance-state-name") found = found.filter((i) => values.includes(i.state));
      else if (name.startsWith("tag:"))
        found = found.filter((i) => values.includes(i.tags[name.slice(4)] ?? "\u0000"));
      else throw new EcError("InvalidParameterValue", `The filter '${name}' is invalid`);
    }
    const ids = list(p, "InstanceId");
    if (ids.length > 0) found = found.filter((i) => ids.includes(i.id));
    // Pages of 2, so callers must follow NextToken.
    const start = Number(p.NextToken ?? 0);
    const page = found.slice(start, start + 2);
    const next = start + 2 < found.length ? String(start + 2) : undefined;
    return (
      items(
        "reservationSet",
        page,
        (i) =>
          el("reservationId", `r-${i.id.slice(2)}`) +
          items(
            "instancesSet",
            [i],
            (x) =>
              el("instanceId", x.id) +
              el("instanceType", x.type) +
              el("launchTime", x.launchTime.toISOString()) +
              `<instanceState>${el("code", STATE_CODES[x.state])}${el("name", x.state)}</instanceState>` +
              `<placement>${el("availabilityZone", x.zone)}</placement>` +
              el("subnetId", x.subnetId) +
              (x.market === "spot" ? el("instanceLifecycle", "spot") : "") +
              items("tagSet", Object.entries(x.tags), ([k, v]) => el("key", k) + el("value", v)),
          ),
      ) + el("nextToken", next)
    );
  }

  function terminateInstances(p: Record<string, string>): string {
    const ids = list(p, "InstanceId");
    const missing = ids.find((id) => !instances.has(id));
    if (missing)
      throw new EcError("InvalidInstanceID.NotFound", `The instance ID '${missing}' does not exist`);
    return items("instancesSet", ids, (id) => {
      const i = instances.get(id)!;
      const previous = i.state;
      if (i.state !== "terminated") i.state = "shutting-down";
      return (
        el("instanceId", id) +
        `<currentState>${el("code", STATE_CODES[i.state])}${el("name", i.state)}</currentState>` +
        `<previousState>${el("code", STATE_CODES[previous])}${el("name", previous)}</previousState>`
      );
    });
  }

  function createTags(p: Record<string, string>): string {
    const ids = list(p, "ResourceId");
    for (const id of ids) {
      const i = instances.get(id);
      if (!i) throw new EcError("InvalidInstanceID.NotFound", `The instance ID '${id}' does not exist`);
      for (let t = 1; p[`Tag.${t}.Key`] !== undefined; t++)
        i.tags[p[`Tag.${t}.Key`]!] = p[`Tag.${t}.Value`] ?? "";
    }
    return el("return", "true");
  }

  const actions: Record<string, (p: Record<string, string>) => string> = {
    CreateFleet: createFleet,
    DescribeInstances: describeInstances,
    TerminateInstances: terminateInstances,
    CreateTags: createTags,
  };

  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      const params = Object.fromEntries(new URLSearchParams(body));
      const action = params.Action ?? "";
      requests.push({ action, params });
      const requestId = randomUUID();
      try {
        const failure = failures.shift();
        if (failure)
          throw new EcError(failure, `${failure} (injected)`, failure === "RequestLimitExceeded" ? 503 : 500);
        const handler = actions[action];
        if (!handler)
          throw new EcError("InvalidAction", `The action ${action} is not valid for this web service.`);
        const inner = handler(params);
        res.writeHead(200, { "content-type": "text/xml;charset=UTF-8" });
        res.end(
          `<?xml version="1.0" encoding="UTF-8"?><${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">${el("requestId", requestId)}${inner}</${action}Response>`,
        );
      } catch (error) {
        const e = error instanceof EcError ? error : new EcError("InternalError", String(error), 500);
        res.writeHead(e.status, { "content-type": "text/xml;charset=UTF-8" });
        res.end(
          `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error>${el("Code", e.code)}${el("Message", e.message)}</Error></Errors>${el("RequestID", requestId)}</Response>`,
        );
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    instances,
    requests,
    setCapacity: (pool, count) => capacity.set(pool, count),
    failNext: (code, times = 1) => {
      for (let i = 0; i < times; i++) failures.push(code);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
