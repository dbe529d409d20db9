/**
 * The real stack, instantiated offline: sst.config.ts and infra/ run through SST's own
 * components under Pulumi's runtime mocks (scripts/sst-graph.ts), and these tests assert on
 * the resources that come out — the IAM policy documents, event source mappings, routes,
 * queues and alarms exactly as SST expands our declarations.
 */
// biome-ignore-all lint/suspicious/noExplicitAny: resource inputs are free-form records here
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { instanceRequirementsOf } from "../packages/core/src/adapters/aws/ec2-fleet.ts";
import { defineGrid } from "../packages/core/src/resources.ts";
import { FleetConfigSchema } from "../packages/functions/src/scaler.ts";
import { collectTasks } from "../packages/task/src/task-definition.ts";
import { declareStack, type Graph, type GraphResource } from "../scripts/sst-graph.ts";
import { agentPoolSettings } from "./agents.ts";
import { servedBy } from "./grid.ts";

const CENTRAL_BUS = "arn:aws:events:us-east-1:999988887777:event-bus/central";
const OIDC = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE";
/** The stack's grid as the graph tests declare it: "gpu" served by agents, "default" by Lambda. */
const grid = defineGrid({
  prefix: "tessera-graph",
  pools: ["default", "gpu"],
  lambda: { pools: ["default"], timeoutSeconds: 900 },
});

/**
 * The `*` resources the stack may hold, each because AWS allows nothing narrower:
 * - ec2:DescribeTags has no resource-level permissions (the EC2 forwarder reads the state-
 *   changed instance's tags; EventBridge events carry none).
 */
const STAR_EXCEPTIONS = [
  { role: "Ec2ForwarderRole", action: "ec2:DescribeTags" },
  { role: "ScalerHandlerRole", action: "ec2:DescribeInstances" },
];

/**
 * `*` in an ARN's last part, allowed when the statement pins it: to this grid's tagged
 * instances (aws:ResourceTag/tessera:grid), to tagging at launch (ec2:CreateAction), or for
 * the resources a launch itself creates (their ids do not exist before it), AWS's public
 * images and its public AMI parameters.
 */
function pinned(s: Statement & { Condition?: Record<string, Record<string, unknown>> }, resource: string) {
  const conditions = Object.values(s.Condition ?? {}).flatMap((c) => Object.keys(c));
  if (conditions.includes("aws:ResourceTag/tessera:grid") || conditions.includes("ec2:CreateAction"))
    return true;
  const launch = list(s.Action).every((a) => a === "ec2:CreateFleet" || a === "ec2:RunInstances");
  if (
    launch &&
    /^arn:aws:ec2:[^:]+:(\d+)?:(instance|volume|network-interface|fleet|image|spot-instances-request)\/\*$/.test(
      resource,
    )
  )
    return true;
  return resource.endsWith(":parameter/aws/service/ami-amazon-linux-latest/*");
}
/**
 * The one managed policy: AWSLambdaBasicExecutionRole, for a function's own logs (SST attaches
 * it; its statement is AWS's, on logs:CreateLogGroup/CreateLogStream/PutLogEvents).
 */
const MANAGED = ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"];

/**
 * Resource types that cost nothing while no task runs (billed per request, per second of use,
 * or per GB stored), plus the monitoring that has a small fixed price (alarms, a dashboard:
 * inside CloudWatch's free tier of 10 alarms and 3 dashboards for one default grid; see the
 * README). Anything billed by the hour regardless of use — NAT gateways, interface endpoints,
 * instances, load balancers, clusters — fails the idle-cost test.
 */
const IDLE_FREE = new Set([
  "pulumi:pulumi:Stack",
  "random:index/randomBytes:RandomBytes",
  "aws:dynamodb/table:Table",
  "aws:s3/bucket:Bucket",
  "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration",
  "aws:s3/bucketPolicy:BucketPolicy",
  "aws:s3/bucketObjectv2:BucketObjectv2",
  "aws:sqs/queue:Queue",
  "aws:lambda/function:Function",
  "aws:lambda/permission:Permission",
  "aws:lambda/eventSourceMapping:EventSourceMapping",
  "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
  "aws:iam/role:Role",
  "aws:iam/rolePolicy:RolePolicy",
  "aws:iam/instanceProfile:InstanceProfile",
  "aws:apigatewayv2/api:Api",
  "aws:apigatewayv2/stage:Stage",
  "aws:apigatewayv2/integration:Integration",
  "aws:apigatewayv2/route:Route",
  "aws:apigatewayv2/authorizer:Authorizer",
  "aws:cloudwatch/logGroup:LogGroup",
  "aws:cloudwatch/eventRule:EventRule",
  "aws:cloudwatch/eventTarget:EventTarget",
  // EventBridge Scheduler: per invocation (14 M a month free).
  "aws:scheduler/schedule:Schedule",
  "aws:cloudwatch/metricAlarm:MetricAlarm",
  "aws:cloudwatch/dashboard:Dashboard",
  "aws:sns/topic:Topic",
  "aws:sns/topicSubscription:TopicSubscription",
  "aws:ec2/vpc:Vpc",
  "aws:ec2/subnet:Subnet",
  "aws:ec2/internetGateway:InternetGateway",
  "aws:ec2/routeTable:RouteTable",
  "aws:ec2/routeTableAssociation:RouteTableAssociation",
  "aws:ec2/securityGroup:SecurityGroup",
  "aws:ec2/launchTemplate:LaunchTemplate",
]);

type Statement = { Effect: string; Action: string | string[]; Resource: string | string[] };
const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

const ofType = (g: Graph, type: string) => g.resources.filter((r) => r.type === type);
const one = (g: Graph, type: string, name: string): GraphResource => {
  const found = g.resources.find((r) => r.type === type && r.name === name);
  if (!found) throw new Error(`no ${type} named ${name}`);
  return found;
};
const arnOf = (g: Graph, type: string, physicalName: string) => {
  const found = g.resources.find((r) => r.type === type && r.state.name === physicalName);
  if (!found) throw new Error(`no ${type} with name ${physicalName}`);
  return found.state.arn;
};
const queueArn = (g: Graph, name: string) => arnOf(g, "aws:sqs/queue:Queue", name);
/** The key of the bundled agent the stack uploads: `agent/<SHA-256 of the zip>.zip`. */
const agentCodeKey = (g: Graph) => one(g, "aws:s3/bucketObjectv2:BucketObjectv2", "AgentCode").inputs.key;
/** The payload bucket's name, as SST named it. */
const bucketName = (g: Graph) => one(g, "aws:s3/bucket:Bucket", "BlobsBucket").state.name;

/** Every statement a role holds: its inline policies and the RolePolicy resources on it. */
function statementsOf(g: Graph, roleName: string): Statement[] {
  const role = one(g, "aws:iam/role:Role", roleName);
  const inline = (role.inputs.inlinePolicies ?? []).map((p: any) => JSON.parse(p.policy));
  const attached = ofType(g, "aws:iam/rolePolicy:RolePolicy")
    .filter((p) => p.inputs.role === `${roleName}-id`)
    .map((p) => JSON.parse(p.inputs.policy));
  return [...inline, ...attached].flatMap((doc: { Statement: Statement[] }) => doc.Statement);
}

/** "action resource" pairs a role is allowed. */
function grants(g: Graph, roleName: string): Set<string> {
  const out = new Set<string>();
  for (const s of statementsOf(g, roleName)) {
    expect(s.Effect).toBe("Allow");
    for (const a of list(s.Action)) for (const r of list(s.Resource)) out.add(`${a} ${r}`);
  }
  return out;
}
const resourcesOf = (g: Graph, roleName: string) =>
  new Set([...grants(g, roleName)].map((pair) => pair.split(" ")[1]!));

function trusted(role: GraphResource): unknown[] {
  const doc =
    typeof role.inputs.assumeRolePolicy === "string"
      ? JSON.parse(role.inputs.assumeRolePolicy)
      : role.inputs.assumeRolePolicy;
  return doc.Statement.map((s: any) => s.Principal);
}

/** The log groups holding task log entries: the worker function's and the agents'. */
function taskLogGroups(g: Graph) {
  const group = (name: string) => {
    const r = one(g, "aws:cloudwatch/logGroup:LogGroup", name);
    return { name: r.state.name, arn: r.state.arn, retentionInDays: r.inputs.retentionInDays };
  };
  return { worker: group("WorkerLogGroup"), agents: group("AgentTaskLogs") };
}

const lambdaRoles = (g: Graph) =>
  ofType(g, "aws:lambda/function:Function").map(
    (fn) => g.resources.find((r) => r.type === "aws:iam/role:Role" && r.state.arn === fn.inputs.role)!,
  );

describe("the stack as SST declares it (Pulumi mocks)", () => {
  // Agent pool `gpu`, a central bus and an EKS cluster: everything optional switched on.
  let full: Graph;
  // No settings at all: what `npx sst deploy` gives.
  let plain: Graph;
  beforeAll(async () => {
    [full, plain] = await Promise.all([
      declareStack({
        env: {
          TESSERA_POOLS: "default,gpu",
          TESSERA_AGENT_POOLS: "gpu",
          TESSERA_AGENT_POOL_SETTINGS: JSON.stringify({
            gpu: {
              vcpu: [4, 16],
              memoryGiB: [16, 64],
              maxAgents: 4,
              arch: "x86_64",
              accelerators: { count: [1, 4], names: ["a10g", "l4"], memoryGiB: [16, 96] },
            },
          }),
          TESSERA_CENTRAL_BUS_ARN: CENTRAL_BUS,
          TESSERA_EKS_OIDC_PROVIDER_ARN: OIDC,
        },
      }),
      declareStack({ env: {} }),
    ]);
  }, 120_000);

  it("builds every function from an existing handler, on arm64 and Node 24", () => {
    expect(
      Object.values(full.builds)
        .map((b) => b.handler)
        .sort(),
    ).toEqual([
      "examples/worker.handler",
      "packages/functions/src/entries/api.handler",
      "packages/functions/src/entries/ec2-forwarder.handler",
      "packages/functions/src/entries/reaper.handler",
      "packages/functions/src/entries/scaler.handler",
    ]);
    for (const fn of ofType(full, "aws:lambda/function:Function")) {
      expect(fn.inputs.runtime, fn.name).toBe("nodejs24.x");
      expect(fn.inputs.architectures, fn.name).toEqual(["arm64"]);
    }
    expect(full.unknownCalls).toEqual([]);
  });

  it("declares the table and indexes of the shared definition: on-demand, PITR, AWS-owned key, TTL", () => {
    const table = one(full, "aws:dynamodb/table:Table", "TasksTable").inputs;
    expect(table).toMatchObject({
      name: grid.table.name,
      hashKey: grid.table.hashKey.name,
      rangeKey: grid.table.rangeKey.name,
      billingMode: "PAY_PER_REQUEST",
      pointInTimeRecovery: { enabled: true },
      ttl: { attributeName: "expiresAt", enabled: true },
    });
    // Encrypted with DynamoDB's AWS-owned key (free), not the AWS-managed KMS key (KMS charges).
    expect(table.serverSideEncryption).toBeUndefined();
    expect(
      table.globalSecondaryIndexes.map((i: any) => [i.name, i.hashKey, i.rangeKey, i.projectionType]),
    ).toEqual(grid.table.indexes.map((i) => [i.name, i.hashKey.name, i.rangeKey.name, "KEYS_ONLY"]));
    const lifecycle = ofType(full, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")[0]!;
    expect(lifecycle.inputs).toMatchObject({
      bucket: bucketName(full),
      rules: [{ filter: { prefix: "t/" }, expiration: { days: 30 }, status: "Enabled" }],
    });
  });

  it("hides a Lambda queue's tickets for at least the worker's timeout (Lambda's rule for a mapping), six times it", () => {
    const worker = one(full, "aws:lambda/function:Function", "WorkerFunction");
    const queues = ofType(full, "aws:sqs/queue:Queue");
    const mappings = ofType(full, "aws:lambda/eventSourceMapping:EventSourceMapping");
    expect(mappings.length).toBeGreaterThan(0);
    for (const m of mappings) {
      const queue = queues.find((q) => queueArn(full, q.inputs.name) === m.inputs.eventSourceArn)!;
      // "Queue visibility timeout: N seconds is less than Function timeout" otherwise.
      expect(queue.inputs.visibilityTimeoutSeconds).toBeGreaterThanOrEqual(worker.inputs.timeout);
      expect(queue.inputs.visibilityTimeoutSeconds).toBe(
        Math.min(43_200, 6 * worker.inputs.timeout + (m.inputs.maximumBatchingWindowInSeconds ?? 0)),
      );
    }
  });

  it("gives every ticket queue a dead-letter queue with the definition's redrive policy", () => {
    const queues = ofType(full, "aws:sqs/queue:Queue");
    expect(queues).toHaveLength(grid.queues.length * 2);
    for (const q of grid.queues) {
      const main = queues.find((r) => r.inputs.name === q.physicalName)!;
      expect(JSON.parse(main.inputs.redrivePolicy)).toEqual({
        deadLetterTargetArn: queueArn(full, q.deadLetterPhysicalName),
        maxReceiveCount: q.maxReceiveCount,
      });
      expect(main.inputs.visibilityTimeoutSeconds).toBe(q.visibilityTimeoutSeconds);
      expect(main.inputs.messageRetentionSeconds).toBe(q.retentionSeconds);
    }
  });

  it("installs piscina beside the worker's bundle, for its task threads", () => {
    const worker = Object.values(full.builds).find((b) => b.handler === "examples/worker.handler")!;
    expect(worker.install).toHaveProperty("piscina");
    const others = Object.values(full.builds).filter((b) => b !== worker);
    for (const b of others) expect(b.install).toEqual({});
  });

  it("gives each priority class of a Lambda pool its share of the worker's concurrency", () => {
    const mappings = ofType(full, "aws:lambda/eventSourceMapping:EventSourceMapping");
    const cap = (name: string) =>
      mappings.find(
        (m) =>
          m.inputs.eventSourceArn === queueArn(full, grid.queues.find((q) => q.name === name)!.physicalName),
      )!.inputs.scalingConfig.maximumConcurrency;
    expect([cap("default-high"), cap("default-normal"), cap("default-low")]).toEqual([50, 25, 13]);
  });

  it("subscribes the worker to exactly the Lambda pools' queues, reporting batch item failures", () => {
    const worker = one(full, "aws:lambda/function:Function", "WorkerFunction");
    const mappings = ofType(full, "aws:lambda/eventSourceMapping:EventSourceMapping");
    expect(mappings.map((m) => m.inputs.eventSourceArn).sort()).toEqual(
      grid.queues
        .filter((q) => q.name.startsWith("default-"))
        .map((q) => queueArn(full, q.physicalName))
        .sort(),
    );
    for (const m of mappings) {
      expect(m.inputs).toMatchObject({
        functionName: worker.state.arn,
        functionResponseTypes: ["ReportBatchItemFailures"],
        batchSize: 10,
        maximumBatchingWindowInSeconds: 0,
      });
      expect(m.inputs.scalingConfig.maximumConcurrency).toBeGreaterThanOrEqual(2);
    }
  });

  it("authenticates every API route (IAM by default)", () => {
    for (const g of [full, plain]) {
      const routes = ofType(g, "aws:apigatewayv2/route:Route");
      expect(routes.length).toBeGreaterThan(0);
      for (const r of routes) expect(r.inputs.authorizationType, r.inputs.routeKey).toBe("AWS_IAM");
    }
    const stage = ofType(full, "aws:apigatewayv2/stage:Stage")[0]!;
    expect(stage.inputs.defaultRouteSettings.throttlingRateLimit).toBeGreaterThan(0);
  });

  it("grants no `*` action, and `*` resources only where AWS has nothing narrower", () => {
    for (const g of [full, plain]) {
      for (const role of ofType(g, "aws:iam/role:Role")) {
        for (const statement of statementsOf(g, role.name)) {
          for (const action of list(statement.Action)) {
            expect(action, `${role.name}: ${action}`).not.toContain("*");
            for (const resource of list(statement.Resource)) {
              if (!resource.includes("*")) continue;
              const allowed =
                STAR_EXCEPTIONS.some((e) => e.role === role.name && e.action === action) ||
                // The indexes of the grid's own table; the objects under the grid's own prefix.
                resource === `${arnOf(g, "aws:dynamodb/table:Table", grid.table.name)}/index/*` ||
                resource === `arn:aws:s3:::${bucketName(g)}/t/*` ||
                // A log group of the stack's own, as CloudWatch Logs' actions name it (`<arn>:*`).
                ofType(g, "aws:cloudwatch/logGroup:LogGroup").some(
                  (lg) => resource === `${lg.state.arn}:*`,
                ) ||
                (resource !== "*" && pinned(statement, resource));
              expect(allowed, `${role.name}: ${action} ${resource}`).toBe(true);
            }
          }
        }
        expect(role.inputs.managedPolicyArns ?? [], role.name).toSatisfy((arns: string[]) =>
          arns.every((a) => MANAGED.includes(a)),
        );
      }
    }
  });

  it("lets each function and agent reach exactly the table, queues and bucket objects it uses", () => {
    const table = arnOf(full, "aws:dynamodb/table:Table", grid.table.name);
    const data = [table, `${table}/index/*`];
    const objects = `arn:aws:s3:::${bucketName(full)}/t/*`;
    const bucket = `arn:aws:s3:::${bucketName(full)}`;
    const tickets = (pool?: string) =>
      grid.queues
        .filter((q) => !pool || q.name.startsWith(`${pool}-`))
        .map((q) => queueArn(full, q.physicalName));
    const dlqs = grid.queues.map((q) => queueArn(full, q.deadLetterPhysicalName));
    const ec2 = (type: string) => `arn:aws:ec2:us-east-1:123456789012:${type}`;
    const scalerArn = "arn:aws:lambda:us-east-1:123456789012:function:tessera-graph-fleet-scaler";
    const roleOf = (fn: string) =>
      full.resources.find(
        (r) =>
          r.type === "aws:iam/role:Role" &&
          r.state.arn === one(full, "aws:lambda/function:Function", fn).inputs.role,
      )!.name;
    const api = ofType(full, "aws:lambda/function:Function").find((f) => f.name.startsWith("ApiRoute"))!.name;
    const { worker: workerLogs, agents: agentLogs } = taskLogGroups(full);
    const expected: Record<string, string[]> = {
      // …and it wakes the fleet scaler on a submit to an agent pool, and reads task logs.
      [roleOf(api)]: [
        ...data,
        ...tickets(),
        objects,
        bucket,
        scalerArn,
        `${workerLogs.arn}:*`,
        `${agentLogs.arn}:*`,
      ],
      [roleOf("WorkerFunction")]: [...data, ...tickets("default"), objects, bucket],
      [roleOf("ReaperHandlerFunction")]: [...data, ...tickets(), ...dlqs, objects],
      AgentgpuRole: [
        ...data,
        ...tickets("gpu"),
        objects,
        bucket,
        `${bucket}/${agentCodeKey(full)}`,
        ec2("instance/*"),
        `${agentLogs.arn}:*`,
      ],
      [roleOf("ScalerHandlerFunction")]: [
        table, // its lock item only (dynamodb:LeadingKeys)
        ...tickets("gpu"),
        "*",
        ...["fleet/*", "instance/*", "volume/*", "network-interface/*", "spot-instances-request/*"].map(ec2),
        "arn:aws:ec2:us-east-1::image/*",
        one(full, "aws:ec2/launchTemplate:LaunchTemplate", "AgentgpuTemplate").state.arn,
        ...ofType(full, "aws:ec2/subnet:Subnet").map((x) => x.state.arn),
        one(full, "aws:ec2/securityGroup:SecurityGroup", "AgentSecurityGroup").state.arn,
        one(full, "aws:iam/role:Role", "AgentgpuRole").state.arn,
        // Only the parameter of the pool's image (a GPU pool's: AWS's Deep Learning Base AMI).
        "arn:aws:ssm:us-east-1::parameter/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id",
        "arn:aws:iam::123456789012:role/aws-service-role/ec2fleet.amazonaws.com/AWSServiceRoleForEC2Fleet",
        "arn:aws:iam::123456789012:role/aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot",
      ],
      AgentEksRole: [...data, ...tickets("gpu"), objects, bucket, `${agentLogs.arn}:*`],
      [roleOf("Ec2ForwarderFunction")]: ["*", CENTRAL_BUS],
      // EventBridge Scheduler's roles: each invokes its one function.
      ScalerRole: [scalerArn],
      ReaperRole: [one(full, "aws:lambda/function:Function", "ReaperHandlerFunction").state.arn],
    };
    expect(Object.keys(expected).sort()).toEqual(
      ofType(full, "aws:iam/role:Role")
        .map((r) => r.name)
        .sort(),
    );
    for (const [role, resources] of Object.entries(expected)) {
      expect([...resourcesOf(full, role)].sort(), role).toEqual([...resources].sort());
    }
    // The worker polls its queues itself (the event source mapping uses the function's role).
    const worker = grants(full, roleOf("WorkerFunction"));
    for (const q of tickets("default"))
      for (const action of ["sqs:ReceiveMessage", "sqs:GetQueueAttributes", "sqs:DeleteMessage"])
        expect(worker.has(`${action} ${q}`), `${action} ${q}`).toBe(true);
    // Only the reaper takes tickets off the dead-letter queues.
    for (const role of Object.keys(expected).filter((r) => r !== roleOf("ReaperHandlerFunction")))
      for (const dlq of dlqs) expect(resourcesOf(full, role).has(dlq), `${role} ${dlq}`).toBe(false);
  });

  it("lets only Lambda assume a function's role, and only EC2 or the agent's service account the agents'", () => {
    for (const role of lambdaRoles(full))
      expect(trusted(role), role.name).toEqual([{ Service: "lambda.amazonaws.com" }]);
    expect(trusted(one(full, "aws:iam/role:Role", "AgentgpuRole"))).toEqual([
      { Service: "ec2.amazonaws.com" },
    ]);
    const eks = JSON.parse(one(full, "aws:iam/role:Role", "AgentEksRole").inputs.assumeRolePolicy)
      .Statement[0];
    expect(eks).toMatchObject({
      Principal: { Federated: OIDC },
      Action: "sts:AssumeRoleWithWebIdentity",
      Condition: {
        StringEquals: {
          // KEDA's operator reads the queue depths with this role (identityOwner: workload).
          "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE:sub": [
            "system:serviceaccount:default:tessera-agent",
            "system:serviceaccount:keda:keda-operator",
          ],
          "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE:aud": "sts.amazonaws.com",
        },
      },
    });
  });

  it("forwards only EC2 state changes, through the function that keeps the grid's tagged instances", () => {
    const rule = one(full, "aws:cloudwatch/eventRule:EventRule", "AgentStateChanges");
    // EC2 state-change events carry no tags, so the pattern cannot name them: the forwarder
    // reads each instance's tags and forwards only this grid's (its unit tests show that).
    expect(JSON.parse(rule.inputs.eventPattern)).toEqual({
      source: ["aws.ec2"],
      "detail-type": ["EC2 Instance State-change Notification"],
    });
    const forwarder = one(full, "aws:lambda/function:Function", "Ec2ForwarderFunction");
    expect(forwarder.inputs.environment.variables).toMatchObject({
      TESSERA_CENTRAL_BUS_ARN: CENTRAL_BUS,
      TESSERA_AGENT_TAG_KEY: "tessera:grid",
      TESSERA_AGENT_TAG_VALUE: "tessera-graph",
    });
    const targets = ofType(full, "aws:cloudwatch/eventTarget:EventTarget");
    expect(targets.filter((t) => t.inputs.rule === rule.state.name).map((t) => t.inputs.arn)).toEqual([
      forwarder.state.arn,
    ]);
    // Off unless a central bus is configured.
    expect(
      plain.resources.some((r) => r.name.startsWith("Ec2Forwarder") || r.name === "AgentStateChanges"),
    ).toBe(false);
  });

  it("alarms on every dead-letter queue, on waiting tickets, on worker errors and on throttles", () => {
    const alarms = ofType(full, "aws:cloudwatch/metricAlarm:MetricAlarm").map((a) => a.inputs);
    const topic = ofType(full, "aws:sns/topic:Topic")[0]!.state.arn;
    for (const a of alarms) expect(a.alarmActions).toEqual([topic]);
    const on = (metric: string, dimension: string) =>
      alarms
        .filter((a) => a.metricName === metric)
        .map((a) => a.dimensions[dimension])
        .sort();
    expect(on("ApproximateNumberOfMessagesVisible", "QueueName")).toEqual(
      grid.queues.map((q) => q.deadLetterPhysicalName).sort(),
    );
    expect(on("ApproximateAgeOfOldestMessage", "QueueName")).toEqual(
      grid.queues.map((q) => q.physicalName).sort(),
    );
    const worker = one(full, "aws:lambda/function:Function", "WorkerFunction").state.name;
    expect(on("Errors", "FunctionName")).toEqual([worker]);
    expect(on("Throttles", "FunctionName")).toEqual([worker]);
    expect(on("ThrottledRequests", "TableName")).toEqual([grid.table.name]);
    const dashboard = ofType(full, "aws:cloudwatch/dashboard:Dashboard")[0]!;
    expect(JSON.parse(dashboard.inputs.dashboardBody).widgets.length).toBeGreaterThan(0);
  });

  it("gives an EC2 agent pool a launch template chosen by attributes, in a subnet of every zone", () => {
    const template = one(full, "aws:ec2/launchTemplate:LaunchTemplate", "AgentgpuTemplate").inputs;
    expect(template.instanceRequirements).toMatchObject({
      vcpuCount: { min: 4, max: 16 },
      memoryMib: { min: 16 * 1024, max: 64 * 1024 },
      cpuManufacturers: ["intel", "amd"],
    });
    expect(template.instanceType).toBeUndefined();
    expect(template.metadataOptions).toMatchObject({
      httpTokens: "required",
      instanceMetadataTags: "enabled",
    });
    expect(template.imageId).toBe(
      "resolve:ssm:/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id",
    );
    expect(template.tagSpecifications[0].tags).toMatchObject({
      "tessera:grid": "tessera-graph",
      "tessera:pool": "gpu",
    });
    const profile = ofType(full, "aws:iam/instanceProfile:InstanceProfile")[0]!;
    expect(template.iamInstanceProfile.arn).toBe(profile.state.arn);
    expect(profile.inputs.role).toBe(one(full, "aws:iam/role:Role", "AgentgpuRole").state.name);
    const script = Buffer.from(template.userData, "base64").toString("utf8");
    expect(script).toContain(`BUCKET='${bucketName(full)}'`);
    expect(script).toContain(`CODE_KEY='${agentCodeKey(full)}'`);
    expect(script).toMatch(/ExecStart=\/usr\/bin\/node-24 \/opt\/tessera\/agent\.mjs --pools gpu /);
    expect(script).toContain("KillSignal=SIGTERM");
    expect(script).toContain('Environment="TESSERA_PREFIX=tessera-graph"');
    const subnets = ofType(full, "aws:ec2/subnet:Subnet");
    expect(subnets.map((s) => s.inputs.availabilityZone)).toEqual(["us-east-1a", "us-east-1b", "us-east-1c"]);
    const group = ofType(full, "aws:ec2/securityGroup:SecurityGroup")[0]!.inputs;
    expect(group.ingress ?? []).toEqual([]);
    expect(group.egress.map((e: any) => [e.protocol, e.fromPort, e.toPort])).toEqual([["tcp", 443, 443]]);
    expect(full.outputs.agents).toMatchObject({
      pools: { gpu: { settings: { maxAgents: 4, spot: true } } },
      subnets: subnets.map((s) => `${s.name}-id`),
    });
    // Lambda-only grids need none of it.
    expect(ofType(plain, "aws:ec2/vpc:Vpc")).toEqual([]);
  });

  it("schedules one fleet scaler for the agent pools, configured as its function reads it", () => {
    const fn = one(full, "aws:lambda/function:Function", "ScalerHandlerFunction");
    expect(one(full, "aws:scheduler/schedule:Schedule", "ScalerSchedule").inputs).toMatchObject({
      scheduleExpression: "rate(1 minute)",
      target: { arn: fn.state.arn, retryPolicy: { maximumRetryAttempts: 0 } },
    });
    // The API wakes it by this name on a submit to an agent pool; a wake is not retried.
    expect(fn.inputs.name).toBe("tessera-graph-fleet-scaler");
    const apiFn = ofType(full, "aws:lambda/function:Function").find((f) => f.name.startsWith("ApiRoute"))!;
    expect(apiFn.inputs.environment.variables).toMatchObject({
      TESSERA_SCALER_FUNCTION: "tessera-graph-fleet-scaler",
      TESSERA_AGENT_POOLS: "gpu",
    });
    expect(
      one(
        full,
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
        "ScalerHandlerEventInvokeConfig",
      ).inputs,
    ).toMatchObject({
      maximumRetryAttempts: 0,
      maximumEventAgeInSeconds: 60,
    });
    expect(fn.inputs.timeout).toBeGreaterThan(55 + 10); // a run stops passing at 55 s
    // The function's own schema accepts what the stack writes.
    const config = FleetConfigSchema.parse(JSON.parse(fn.inputs.environment.variables.TESSERA_FLEET));
    expect(config).toEqual({
      grid: "tessera-graph",
      everySeconds: 10,
      pools: {
        gpu: {
          launchTemplateId: "AgentgpuTemplate-id",
          subnets: ofType(full, "aws:ec2/subnet:Subnet").map((x) => ({
            id: `${x.name}-id`,
            zone: x.inputs.availabilityZone,
          })),
          vcpu: [4, 16],
          memoryGiB: [16, 64],
          arch: "x86_64",
          spot: true,
          maxAgents: 4,
          accelerators: {
            count: [1, 4],
            manufacturers: ["nvidia"],
            types: ["gpu"],
            names: ["a10g", "l4"],
            memoryGiB: [16, 96],
          },
        },
      },
    });
    // Its dangerous grants are pinned: it terminates only this grid's instances, passes only
    // the agents' roles and only to EC2, tags only at launch.
    const scaler = statementsOf(full, "ScalerHandlerRole") as Array<Statement & { Condition?: any }>;
    const holding = (action: string) => scaler.find((x) => list(x.Action).includes(action))!;
    expect(holding("ec2:TerminateInstances").Condition).toEqual({
      StringEquals: { "aws:ResourceTag/tessera:grid": "tessera-graph" },
    });
    expect(holding("iam:PassRole").Condition).toEqual({
      StringEquals: { "iam:PassedToService": "ec2.amazonaws.com" },
    });
    expect(holding("ec2:CreateTags").Condition).toEqual({
      StringEquals: { "ec2:CreateAction": ["CreateFleet", "RunInstances"] },
    });
    // An agent tags only its status keys, only on the grid's instances.
    const agent = (statementsOf(full, "AgentgpuRole") as Array<Statement & { Condition?: any }>).find((x) =>
      list(x.Action).includes("ec2:CreateTags"),
    )!;
    expect(agent.Condition).toEqual({
      StringEquals: { "aws:ResourceTag/tessera:grid": "tessera-graph" },
      "ForAllValues:StringEquals": {
        "aws:TagKeys": [
          "tessera:agent",
          "tessera:busy",
          "tessera:idle-since",
          "tessera:slots",
          "tessera:draining-since",
        ],
      },
    });
    // No agent pool, no scaler.
    expect(plain.resources.some((r) => r.name.startsWith("Scaler"))).toBe(false);
  });

  it("declares nothing billed while idle: no NAT, no instances, no interface endpoints", () => {
    for (const g of [full, plain]) {
      for (const r of g.resources.filter((x) => !x.type.startsWith("sst:"))) {
        if (r.type === "aws:ec2/vpcEndpoint:VpcEndpoint") {
          expect(r.inputs.vpcEndpointType, r.name).toBe("Gateway");
          continue;
        }
        expect(IDLE_FREE.has(r.type), `${r.type} (${r.name})`).toBe(true);
      }
    }
  });

  it("tells the API what each pool runs: the worker entry's tasks, the agents' task modules", async () => {
    const handlersOf = (g: Graph) =>
      JSON.parse(
        ofType(g, "aws:lambda/function:Function").find((f) => f.name.startsWith("ApiRoute"))!.inputs
          .environment.variables.TESSERA_HANDLERS,
      );
    // The Lambda pools run what the worker entry exports, with its default task.
    const entry = await import("../examples/worker.ts");
    const lambda = { handlers: [...entry.tasks.keys()].sort(), default: entry.defaultTask };
    expect(lambda.handlers).toContain("price-european-option");
    expect(handlersOf(plain)).toEqual({ default: lambda });
    // Agents that may run on EKS bring their own image: their pool's catalogue is unknown.
    expect(handlersOf(full)).toEqual({ default: lambda });
    // EC2 agent pools run the task modules of TESSERA_AGENT_TASKS, with no default task.
    const agents = await declareStack({
      env: {
        TESSERA_POOLS: "default,batch",
        TESSERA_AGENT_POOLS: "batch",
        TESSERA_AGENT_TASKS: "examples/echo.ts",
      },
    });
    const echo = [...collectTasks(await import("../examples/echo.ts")).keys()].sort();
    expect(handlersOf(agents)).toEqual({ default: lambda, batch: { handlers: echo, default: null } });
  }, 120_000);

  it("lets the API read task logs from the worker's and the agents' log groups, and agents write to theirs only", () => {
    const { worker, agents } = taskLogGroups(full);
    expect(worker.name).toMatch(/^\/aws\/lambda\//);
    expect(agents.name).toBe("/tessera/tessera-graph/agent-tasks");
    // Kept as long as the task records (TESSERA_RETENTION_DAYS, 30 by default).
    expect([worker.retentionInDays, agents.retentionInDays]).toEqual([30, 30]);
    const logsGrants = (role: string) => [...grants(full, role)].filter((g) => g.startsWith("logs:")).sort();
    const api = ofType(full, "aws:lambda/function:Function").find((f) => f.name.startsWith("ApiRoute"))!;
    const apiRole = full.resources.find(
      (r) => r.type === "aws:iam/role:Role" && r.state.arn === api.inputs.role,
    )!;
    expect(logsGrants(apiRole.name)).toEqual(
      [`logs:FilterLogEvents ${worker.arn}:*`, `logs:FilterLogEvents ${agents.arn}:*`].sort(),
    );
    expect(api.inputs.environment.variables.TESSERA_TASK_LOG_GROUPS).toBe(`${worker.name},${agents.name}`);
    for (const role of ["AgentgpuRole", "AgentEksRole"])
      expect(logsGrants(role), role).toEqual([
        `logs:CreateLogStream ${agents.arn}:*`,
        `logs:PutLogEvents ${agents.arn}:*`,
      ]);
    // The EC2 agents are told where to ship their entries.
    const template = one(full, "aws:ec2/launchTemplate:LaunchTemplate", "AgentgpuTemplate").inputs;
    expect(Buffer.from(template.userData, "base64").toString("utf8")).toContain(
      `Environment="TESSERA_TASK_LOG_GROUP=${agents.name}"`,
    );
    // Without agent pools: the worker's group only, and no agents' group.
    const plainApi = ofType(plain, "aws:lambda/function:Function").find((f) =>
      f.name.startsWith("ApiRoute"),
    )!;
    const plainWorker = one(plain, "aws:cloudwatch/logGroup:LogGroup", "WorkerLogGroup").state.name;
    expect(plainApi.inputs.environment.variables.TESSERA_TASK_LOG_GROUPS).toBe(plainWorker);
    expect(plain.resources.some((r) => r.name === "AgentTaskLogs")).toBe(false);
  });

  it("outputs what a CLI profile needs: the API URL, region, table, bucket and queue URLs", () => {
    expect(plain.outputs).toMatchObject({
      api: expect.stringMatching(/^https:\/\//),
      region: "us-east-1",
      auth: "iam",
      table: grid.table.name,
      bucket: bucketName(plain),
    });
    expect(Object.keys(plain.outputs.queues as object).sort()).toEqual(
      grid.queues
        .filter((q) => q.name.startsWith("default-"))
        .map((q) => q.name)
        .sort(),
    );
  });
});

/**
 * AWS's own rules that a first `sst deploy` (or a real account) would enforce, one test each.
 * Each failed on the stack as it was before they were written (issue 18).
 */
describe("AWS's rules, checked offline", () => {
  let full: Graph;
  let cpu: Graph;
  let china: Graph;
  beforeAll(async () => {
    [full, cpu, china] = await Promise.all([
      declareStack({
        env: {
          TESSERA_POOLS: "default,gpu",
          TESSERA_AGENT_POOLS: "gpu",
          TESSERA_AGENT_POOL_SETTINGS: JSON.stringify({
            gpu: { arch: "x86_64", accelerators: { count: [1, 4], names: ["a10g", "l4"] } },
          }),
          TESSERA_CENTRAL_BUS_ARN: CENTRAL_BUS,
        },
      }),
      declareStack({ env: { TESSERA_POOLS: "default,batch", TESSERA_AGENT_POOLS: "batch" } }),
      declareStack({
        env: {
          TESSERA_POOLS: "default,gpu",
          TESSERA_AGENT_POOLS: "gpu",
          TESSERA_GRAPH_PARTITION: "aws-cn",
          TESSERA_CENTRAL_BUS_ARN: "arn:aws-cn:events:cn-north-1:999988887777:event-bus/central",
        },
      }),
    ]);
  }, 120_000);

  it("lets SST name the bucket: S3 names are global, so a fixed one may be taken (409) or squatted", () => {
    const bucket = one(full, "aws:s3/bucket:Bucket", "BlobsBucket");
    // SST's name carries a random suffix; the functions and agents are told it.
    expect(bucket.state.name).not.toBe(grid.bucketName);
    expect(bucket.state.name).toMatch(/^tessera-graph-blobsbucket-[a-z0-9]+$/);
    for (const fn of ofType(full, "aws:lambda/function:Function").filter(
      (f) => f.inputs.environment?.variables?.TESSERA_PREFIX,
    ))
      expect(fn.inputs.environment.variables.TESSERA_BUCKET, fn.name).toBe(bucket.state.name);
    const template = one(full, "aws:ec2/launchTemplate:LaunchTemplate", "AgentgpuTemplate").inputs;
    const script = Buffer.from(template.userData, "base64").toString("utf8");
    expect(script).toContain(`TESSERA_BUCKET=${bucket.state.name}`);
  });

  it("boots an agent without the internet: Node from Amazon Linux's repository, the bundle checked by its hash", () => {
    const object = one(full, "aws:s3/bucketObjectv2:BucketObjectv2", "AgentCode").inputs;
    const sha = /^agent\/([0-9a-f]{64})\.zip$/.exec(object.key)?.[1];
    expect(sha, object.key).toBeDefined();
    // The key is the hash of the very bytes uploaded: a change of code is a new key, and a new
    // launch template version boots it.
    const zip = readFileSync(new URL(`../.sst/agent/${sha}.zip`, import.meta.url));
    expect(createHash("sha256").update(zip).digest("hex")).toBe(sha);
    const template = one(full, "aws:ec2/launchTemplate:LaunchTemplate", "AgentgpuTemplate").inputs;
    const script = Buffer.from(template.userData, "base64").toString("utf8");
    expect(script).not.toMatch(/curl|nodejs\.org|npm /);
    expect(script).toContain("dnf install -y nodejs24 unzip awscli-2");
    expect(script).toContain(sha);
    expect(script.indexOf("sha256sum")).toBeLessThan(script.indexOf("unzip -"));
    // The agent role may read that one object, nothing else under agent/.
    expect([...resourcesOf(full, "AgentgpuRole")].filter((r) => r.includes("/agent/"))).toEqual([
      `arn:aws:s3:::${bucketName(full)}/${object.key}`,
    ]);
  });

  it("reserves no concurrency: an account whose quota is 10 can reserve none (AWS keeps 10 unreserved)", () => {
    for (const g of [full, cpu])
      for (const fn of ofType(g, "aws:lambda/function:Function"))
        expect(fn.inputs.reservedConcurrentExecutions, fn.name).toBeUndefined();
    // The scaler runs one at a time through a lock item in the table instead: it may update that
    // item and nothing else.
    const lock = (statementsOf(full, "ScalerHandlerRole") as Array<Statement & { Condition?: any }>).filter(
      (x) => list(x.Action).some((a) => a.startsWith("dynamodb:")),
    );
    expect(lock).toEqual([
      {
        Effect: "Allow",
        Action: "dynamodb:UpdateItem",
        Resource: arnOf(full, "aws:dynamodb/table:Table", grid.table.name),
        Condition: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": "LOCK#fleet-scaler" } },
      },
    ]);
  });

  it("launches only from the pool's launch template, and only instances tagged with the grid", () => {
    const scaler = statementsOf(full, "ScalerHandlerRole") as Array<Statement & { Condition?: any }>;
    const template = one(full, "aws:ec2/launchTemplate:LaunchTemplate", "AgentgpuTemplate").state.arn;
    const grantsOf = (action: string) => scaler.filter((x) => list(x.Action).includes(action));
    for (const st of grantsOf("ec2:RunInstances")) {
      for (const resource of list(st.Resource)) {
        // Named resources, and spot requests (their check has no ec2:LaunchTemplate key).
        if (!resource.includes("*") || /:(fleet|spot-instances-request)\/\*$/.test(resource)) continue;
        // Anything EC2 Fleet's launches create, and any image: only through a pool's template.
        expect(st.Condition?.ArnEquals?.["ec2:LaunchTemplate"], resource).toBe(template);
        if (resource.endsWith(":instance/*"))
          expect(st.Condition?.StringEquals?.["aws:RequestTag/tessera:grid"]).toBe("tessera-graph");
      }
    }
    // CreateFleet's own check has no ec2:LaunchTemplate key (a condition on it would refuse every
    // launch): the instances it requests must carry the grid's tag.
    for (const st of grantsOf("ec2:CreateFleet")) {
      expect(st.Condition?.ArnEquals?.["ec2:LaunchTemplate"], list(st.Resource).join()).toBeUndefined();
      if (list(st.Resource).some((r) => r.endsWith(":instance/*")))
        expect(st.Condition?.StringEquals?.["aws:RequestTag/tessera:grid"]).toBe("tessera-graph");
    }
    // The header of infra/permissions.ts says what is allowed; it no longer claims "no `*`".
    const header = readFileSync(new URL("./permissions.ts", import.meta.url), "utf8").slice(0, 800);
    expect(header).not.toMatch(/No `\*` action or\s+\* resource anywhere/);
  });

  it("gives a GPU pool GPU instance types and a GPU image, and a CPU pool no accelerator", () => {
    const gpu = one(full, "aws:ec2/launchTemplate:LaunchTemplate", "AgentgpuTemplate").inputs;
    expect(gpu.instanceRequirements).toMatchObject({
      acceleratorCount: { min: 1, max: 4 },
      acceleratorManufacturers: ["nvidia"],
      acceleratorTypes: ["gpu"],
      acceleratorNames: ["a10g", "l4"],
    });
    expect(gpu.imageId).toContain(
      "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-amazon-linux-2023/",
    );
    // The scaler's launches override the template's requirements: they carry the same.
    const scaler = one(full, "aws:lambda/function:Function", "ScalerHandlerFunction");
    const config = FleetConfigSchema.parse(JSON.parse(scaler.inputs.environment.variables.TESSERA_FLEET));
    expect(instanceRequirementsOf(config.pools.gpu!)).toMatchObject({
      AcceleratorCount: { Min: 1, Max: 4 },
      AcceleratorNames: ["a10g", "l4"],
    });
    const batch = one(cpu, "aws:ec2/launchTemplate:LaunchTemplate", "AgentbatchTemplate").inputs;
    expect(batch.instanceRequirements.acceleratorCount).toEqual({ max: 0 });
    expect(batch.imageId).toBe(
      "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
    );
    const batchConfig = FleetConfigSchema.parse(
      JSON.parse(
        one(cpu, "aws:lambda/function:Function", "ScalerHandlerFunction").inputs.environment.variables
          .TESSERA_FLEET,
      ),
    );
    expect(instanceRequirementsOf(batchConfig.pools.batch!).AcceleratorCount).toEqual({ Max: 0 });
  });

  it("builds every ARN and endpoint with the partition (aws-cn, aws-us-gov)", () => {
    for (const role of ofType(china, "aws:iam/role:Role"))
      for (const st of statementsOf(china, role.name))
        for (const resource of list(st.Resource))
          if (resource !== "*") expect(resource, `${role.name} ${resource}`).toMatch(/^arn:aws-cn:/);
    const api = ofType(china, "aws:lambda/function:Function").find((f) => f.name.startsWith("ApiRoute"))!;
    expect(api.inputs.environment.variables.TESSERA_QUEUE_URL_BASE).toBe(
      "https://sqs.cn-north-1.amazonaws.com.cn/123456789012",
    );
    // Gateway endpoints keep com.amazonaws in every partition.
    for (const e of ofType(china, "aws:ec2/vpcEndpoint:VpcEndpoint"))
      expect(e.inputs.serviceName).toMatch(/^com\.amazonaws\.cn-north-1\.(s3|dynamodb)$/);
  });

  it("uses no deprecated SST component (sst.aws.Cron is CronV2 since SST 4.17)", () => {
    for (const g of [full, cpu]) {
      expect(g.resources.filter((r) => r.type === "sst:aws:Cron").map((r) => r.name)).toEqual([]);
      expect(g.resources.filter((r) => r.type === "sst:aws:CronV2").length).toBeGreaterThan(0);
    }
  });

  it("gives the central bus's owner the command that lets the grid put events, and checks the bus ARN", async () => {
    // One statement added to the bus's policy, the others kept (a whole --policy replaces them).
    expect(full.outputs.centralBusPermission).toBe(
      "aws events put-permission --region us-east-1 --event-bus-name central --statement-id tesseragraph --action events:PutEvents --principal 123456789012",
    );
    await expect(declareStack({ env: { TESSERA_CENTRAL_BUS_ARN: "central" } })).rejects.toThrow(
      /TESSERA_CENTRAL_BUS_ARN must be an event bus ARN/,
    );
  }, 60_000);

  it("keeps task records as long as their payloads: the functions know the retention", () => {
    const lifecycle = ofType(cpu, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")[0]!;
    const days = lifecycle.inputs.rules[0].expiration.days;
    for (const fn of ofType(cpu, "aws:lambda/function:Function").filter(
      (f) => f.inputs.environment?.variables?.TESSERA_PREFIX,
    ))
      expect(fn.inputs.environment.variables.TESSERA_RETENTION_DAYS, fn.name).toBe(String(days));
    expect(one(cpu, "aws:dynamodb/table:Table", "TasksTable").inputs.ttl).toEqual({
      attributeName: "expiresAt",
      enabled: true,
    });
  });

  it("takes the region from the AWS profile when AWS_REGION is unset, not a hard-coded us-east-1", async () => {
    const saved = { AWS_REGION: process.env.AWS_REGION, AWS_DEFAULT_REGION: process.env.AWS_DEFAULT_REGION };
    const g = globalThis as { $config?: unknown };
    g.$config = (c: unknown) => c;
    try {
      const config = (await import("../sst.config.ts")).default as unknown as {
        app(input: { stage: string }): { providers: { aws: { region?: string } } };
      };
      delete process.env.AWS_REGION;
      delete process.env.AWS_DEFAULT_REGION;
      expect(config.app({ stage: "prod" }).providers.aws).toEqual({});
      process.env.AWS_REGION = "eu-west-3";
      expect(config.app({ stage: "prod" }).providers.aws).toEqual({ region: "eu-west-3" });
    } finally {
      delete g.$config;
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

describe("stack options", () => {
  it("puts a JWT authorizer on every route when an issuer is configured", async () => {
    const g = await declareStack({
      env: {
        TESSERA_JWT_ISSUER: "https://issuer.example.com/",
        TESSERA_JWT_AUDIENCES: "tessera,cli",
        TESSERA_JWT_TENANT_CLAIM: "org",
      },
    });
    const authorizer = ofType(g, "aws:apigatewayv2/authorizer:Authorizer")[0]!;
    expect(authorizer.inputs).toMatchObject({
      authorizerType: "JWT",
      jwtConfiguration: { issuer: "https://issuer.example.com/", audiences: ["tessera", "cli"] },
    });
    for (const r of ofType(g, "aws:apigatewayv2/route:Route"))
      expect(r.inputs).toMatchObject({ authorizationType: "JWT", authorizerId: `${authorizer.name}-id` });
    const api = ofType(g, "aws:lambda/function:Function").find((f) => f.name.startsWith("ApiRoute"))!;
    expect(api.inputs.environment.variables.TESSERA_JWT_TENANT_CLAIM).toBe("org");
  }, 60_000);

  it("under `sst dev`, registers an agent next to Live Lambda", async () => {
    const g = await declareStack({ dev: true });
    expect(g.resources.some((r) => r.type === "sst:sst:DevCommand" && r.name === "Agent")).toBe(true);
    // Live Lambda runs the code on the developer's machine under the function's role: SST adds
    // the account root to the trust policy and AppSync access, in dev stages only.
    for (const role of lambdaRoles(g)) expect(trusted(role)[0]).toHaveProperty("AWS");
  }, 60_000);

  it("stops the deploy with an error naming the setting when one is wrong", async () => {
    await expect(declareStack({ env: { TESSERA_AGENT_POOLS: "gpu" } })).rejects.toThrow(
      /TESSERA_AGENT_POOLS names gpu, not in TESSERA_POOLS/,
    );
  }, 60_000);

  it("validates agent pool settings field by field", () => {
    expect(agentPoolSettings(["gpu"], undefined).gpu).toMatchObject({
      vcpu: [2, 16],
      spot: true,
      maxAgents: 10,
    });
    // An accelerator pool is x86_64 unless it says otherwise (GPU types are x86 but for G5g).
    expect(agentPoolSettings(["gpu"], '{"gpu":{"accelerators":{}}}').gpu).toMatchObject({
      arch: "x86_64",
      image: "al2023-nvidia",
      accelerators: { count: [1, 1], manufacturers: ["nvidia"], types: ["gpu"] },
    });
    expect(agentPoolSettings(["gpu"], '{"gpu":{"accelerators":{},"arch":"arm64"}}').gpu.arch).toBe("arm64");
    expect(() => agentPoolSettings(["gpu"], '{"gpu":{"accelerators":{"names":["gtx"]}}}')).toThrow(
      /TESSERA_AGENT_POOL_SETTINGS\.gpu\.accelerators\.names\[0\]/,
    );
    expect(agentPoolSettings(["gpu"], '{"gpu":{"spot":false,"arch":"x86_64"}}').gpu).toMatchObject({
      spot: false,
      arch: "x86_64",
    });
    const bad: Array<[string, RegExp]> = [
      ["{", /not valid JSON/],
      ["[]", /JSON object keyed by pool/],
      ['{"cpu":{}}', /TESSERA_AGENT_POOL_SETTINGS\.cpu: not an agent pool/],
      ['{"gpu":{"vcpu":[8,2]}}', /TESSERA_AGENT_POOL_SETTINGS\.gpu\.vcpu must be \[min, max\]/],
      ['{"gpu":{"memoryGiB":4}}', /gpu\.memoryGiB must be \[min, max\]/],
      ['{"gpu":{"spot":"yes"}}', /gpu\.spot must be true or false/],
      ['{"gpu":{"maxAgents":0}}', /gpu\.maxAgents must be a whole number/],
      ['{"gpu":{"arch":"sparc"}}', /gpu\.arch must be/],
      ['{"gpu":{"gpus":1}}', /gpu\.gpus: unknown setting/],
    ];
    for (const [json, message] of bad) expect(() => agentPoolSettings(["gpu"], json), json).toThrow(message);
  });

  it("splits pools between the Lambda worker and the agents", () => {
    const previous = process.env.TESSERA_AGENT_POOLS;
    try {
      process.env.TESSERA_AGENT_POOLS = "gpu";
      expect(servedBy(grid)).toEqual({ lambda: ["default"], agents: ["gpu"] });
      delete process.env.TESSERA_AGENT_POOLS;
      expect(servedBy(grid)).toEqual({ lambda: ["default", "gpu"], agents: [] });
    } finally {
      if (previous === undefined) delete process.env.TESSERA_AGENT_POOLS;
      else process.env.TESSERA_AGENT_POOLS = previous;
    }
  });
});
