/**
 * Least-privilege IAM statements, one builder per function: each names the exact actions it
 * calls and the exact table (and its indexes), queues and bucket it uses. No `*` action. `*`
 * as a whole resource only where AWS offers nothing narrower (ec2:DescribeInstances,
 * ec2:DescribeTags: read-only), and `*` inside an ARN only where the id cannot be known before
 * the call (what a launch creates) and a condition pins it (the pool's launch template, this
 * grid's tag). infra/graph.test.ts holds the list of these exceptions. ARNs carry the
 * partition, so the stack also deploys to aws-cn and aws-us-gov.
 */
import type { Input } from "../.sst/platform/src/components/input";

/** What a grid's functions may reach. */
export interface GridArns {
  table: Input<string>;
  bucket: Input<string>;
  ticketQueues: Input<string>[];
  deadLetterQueues: Input<string>[];
}

type Statement = {
  actions: string[];
  resources: Input<string>[];
  conditions?: Array<{ test: string; variable: string; values: Input<string>[] }>;
};

/** Tag keys an agent keeps on its own instance (packages/agent/src/ec2-status.ts). */
const AGENT_STATUS_TAGS = [
  "tessera:agent",
  "tessera:busy",
  "tessera:idle-since",
  "tessera:slots",
  "tessera:draining-since",
];

// `table/index/*`: the indexes of this one table (GSI access needs their ARNs; all three are used).
const tableAndIndexes = (a: GridArns): Input<string>[] => [a.table, $interpolate`${a.table}/index/*`];
const objects = (a: GridArns): Input<string>[] => [$interpolate`${a.bucket}/t/*`];

/**
 * The item operations every function performs on the table and its indexes. Transactions
 * (inserts under a group's lock with the session check, claims and commits with their counter
 * shard) need the per-item actions they contain (Put, Update, ConditionCheck); no function
 * scans, deletes or batch-writes.
 */
function tableAccess(a: GridArns): Statement {
  return {
    actions: [
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:Query",
      "dynamodb:BatchGetItem",
      "dynamodb:ConditionCheckItem",
    ],
    resources: tableAndIndexes(a),
  };
}

/** The HTTP API: sessions, submits (records, payload blobs, tickets), reads, cancels, links. */
export function apiPermissions(a: GridArns): Statement[] {
  return [
    tableAccess(a),
    { actions: ["sqs:SendMessage"], resources: a.ticketQueues },
    // PutObject/GetObject also back the presigned upload and download links the API hands out.
    { actions: ["s3:PutObject", "s3:GetObject"], resources: objects(a) },
    // Without ListBucket, S3 answers a HEAD of a missing upload with 403 instead of 404.
    { actions: ["s3:ListBucket"], resources: [a.bucket] },
  ];
}

/**
 * The API's logs route: FilterLogEvents on the groups that hold task log entries (the worker
 * function's, the agents'; `<arn>:*` each, see infra/task-logs.ts), nothing else of CloudWatch Logs.
 */
export function taskLogReadPermissions(groups: Input<string>[]): Statement[] {
  return groups.length === 0 ? [] : [{ actions: ["logs:FilterLogEvents"], resources: groups }];
}

/**
 * The Lambda worker, on the queues of the pools it serves: Lambda's event source mapping
 * polls them with the function's own role (ReceiveMessage, GetQueueAttributes), and the
 * dispatch core re-times leases and acknowledges (ChangeMessageVisibility, DeleteMessage).
 */
export function workerPermissions(a: GridArns, served: Input<string>[]): Statement[] {
  return [
    tableAccess(a),
    {
      actions: [
        "sqs:ReceiveMessage",
        "sqs:GetQueueAttributes",
        "sqs:ChangeMessageVisibility",
        "sqs:DeleteMessage",
      ],
      resources: served,
    },
    { actions: ["s3:GetObject", "s3:PutObject"], resources: objects(a) },
    { actions: ["s3:ListBucket"], resources: [a.bucket] },
  ];
}

/**
 * An agent (EC2 instance role or EKS service account) on the queues of its pools: receives,
 * re-times and acknowledges tickets; GetQueueAttributes lets KEDA read the queue depth with
 * the workload's identity; it ships its tasks' log entries to its own stream of the agents'
 * task log group. `bundle` is the agent's code object, read once at boot (EC2 only).
 */
export function agentPermissions(
  a: GridArns,
  served: Input<string>[],
  /** The agents' task log group (`<arn>:*`, see infra/task-logs.ts): a stream of its own, its entries. */
  taskLogs: Input<string>,
  ec2?: {
    bundle: Input<string>;
    grid: string;
    partition: Input<string>;
    region: Input<string>;
    account: Input<string>;
  },
): Statement[] {
  // The same calls as the Lambda worker (the one dispatch core), plus on EC2 the code object
  // and its status tags: only those keys, only on the grid's instances.
  return [
    ...workerPermissions(a, served),
    { actions: ["logs:CreateLogStream", "logs:PutLogEvents"], resources: [taskLogs] },
    ...(ec2
      ? [
          { actions: ["s3:GetObject"], resources: [ec2.bundle] },
          {
            actions: ["ec2:CreateTags"],
            resources: [$interpolate`arn:${ec2.partition}:ec2:${ec2.region}:${ec2.account}:instance/*`],
            conditions: [
              { test: "StringEquals", variable: "aws:ResourceTag/tessera:grid", values: [ec2.grid] },
              { test: "ForAllValues:StringEquals", variable: "aws:TagKeys", values: AGENT_STATUS_TAGS },
            ],
          },
        ]
      : []),
  ];
}

/** What the fleet scaler launches into: the agent pools' templates, network and roles. */
export interface FleetArns {
  /** The task table: the scaler's lock item lives there. */
  table: Input<string>;
  partition: Input<string>;
  region: Input<string>;
  account: Input<string>;
  /** The `tessera:grid` tag value of the grid's instances. */
  grid: string;
  agentQueues: Input<string>[];
  launchTemplates: Input<string>[];
  subnets: Input<string>[];
  securityGroup: Input<string>;
  agentRoles: Input<string>[];
  /** AWS's public SSM parameters the templates take their images from (`/aws/service/…`). */
  imageParameters: string[];
}

/**
 * The fleet scaler: reads the agent pools' queue depths, launches through EC2 Fleet on the
 * pools' own templates, subnets and security group, passes only the agents' roles and only to
 * EC2, and terminates only instances tagged with this grid. What a launch creates (instances,
 * volumes, network interfaces, spot requests) and the image it uses have no id before the
 * call, so their ARNs end in `*`: the launches EC2 Fleet makes are allowed only from one of the
 * pools' launch templates (`ec2:LaunchTemplate`), and an instance only when the request tags it
 * with this grid. So the role cannot start an arbitrary image or instance type passing the agent
 * role, and everything it starts, it can later find and stop. DescribeInstances has no
 * resource-level permissions (`*` is the only resource AWS accepts); it only reads.
 */
export function scalerPermissions(f: FleetArns): Statement[] {
  const ec2 = (type: string) => $interpolate`arn:${f.partition}:ec2:${f.region}:${f.account}:${type}`;
  const launched = ["instance/*", "volume/*", "network-interface/*"].map(ec2);
  const launch = ["ec2:CreateFleet", "ec2:RunInstances"];
  const fromTemplate = { test: "ArnEquals", variable: "ec2:LaunchTemplate", values: f.launchTemplates };
  const gridTag = { test: "StringEquals", variable: "aws:RequestTag/tessera:grid", values: [f.grid] };
  // Amazon's public images have no owner account in their ARN.
  const image = $interpolate`arn:${f.partition}:ec2:${f.region}::image/*`;
  return [
    { actions: ["sqs:GetQueueAttributes"], resources: f.agentQueues },
    // One scaler at a time: its lock item, and nothing else of the table.
    {
      actions: ["dynamodb:UpdateItem"],
      resources: [f.table],
      conditions: [
        {
          test: "ForAllValues:StringEquals",
          variable: "dynamodb:LeadingKeys",
          values: ["LOCK#fleet-scaler"],
        },
      ],
    },
    { actions: ["ec2:DescribeInstances"], resources: ["*"] },
    // The fleet itself (an instant fleet's id does not exist before the call) and the pools' own
    // templates, subnets and security group: named one by one.
    {
      actions: launch,
      resources: [ec2("fleet/*"), ...f.launchTemplates, ...f.subnets, f.securityGroup],
    },
    // CreateFleet's own check knows no ec2:LaunchTemplate (its resources are those of the request,
    // not of the template): the instances it asks for must carry the grid's tag, which also lets
    // the scaler find and stop them.
    {
      actions: ["ec2:CreateFleet"],
      resources: [ec2("instance/*")],
      conditions: [gridTag],
    },
    { actions: ["ec2:CreateFleet"], resources: [ec2("volume/*"), image] },
    // The launches EC2 Fleet then makes on the scaler's behalf: what they create, and the image,
    // only through one of the pools' launch templates, so no other image or instance settings can
    // be started with the agents' role; instances only tagged with the grid.
    {
      actions: ["ec2:RunInstances"],
      resources: [ec2("volume/*"), ec2("network-interface/*"), image],
      conditions: [fromTemplate],
    },
    {
      actions: ["ec2:RunInstances"],
      resources: [ec2("instance/*")],
      conditions: [fromTemplate, gridTag],
    },
    // A spot request's authorization has no ec2:LaunchTemplate key; it starts nothing by itself
    // (the instance it becomes is checked above).
    { actions: ["ec2:RunInstances"], resources: [ec2("spot-instances-request/*")] },
    {
      actions: ["ec2:CreateTags"],
      resources: [ec2("fleet/*"), ...launched],
      conditions: [
        { test: "StringEquals", variable: "ec2:CreateAction", values: ["CreateFleet", "RunInstances"] },
      ],
    },
    {
      actions: ["ec2:TerminateInstances"],
      resources: [ec2("instance/*")],
      conditions: [{ test: "StringEquals", variable: "aws:ResourceTag/tessera:grid", values: [f.grid] }],
    },
    {
      actions: ["iam:PassRole"],
      resources: f.agentRoles,
      conditions: [{ test: "StringEquals", variable: "iam:PassedToService", values: ["ec2.amazonaws.com"] }],
    },
    // The templates name their image through SSM (resolve:ssm:/aws/service/…): only those.
    ...(f.imageParameters.length > 0
      ? [
          {
            actions: ["ssm:GetParameters"],
            resources: f.imageParameters.map(
              (path) => $interpolate`arn:${f.partition}:ssm:${f.region}::parameter${path}`,
            ),
          },
        ]
      : []),
    // EC2 Fleet and spot need their service-linked roles; created on first use, once per account.
    {
      actions: ["iam:CreateServiceLinkedRole"],
      resources: [
        $interpolate`arn:${f.partition}:iam::${f.account}:role/aws-service-role/ec2fleet.amazonaws.com/AWSServiceRoleForEC2Fleet`,
        $interpolate`arn:${f.partition}:iam::${f.account}:role/aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot`,
      ],
      conditions: [
        {
          test: "StringEquals",
          variable: "iam:AWSServiceName",
          values: ["ec2fleet.amazonaws.com", "spot.amazonaws.com"],
        },
      ],
    },
  ];
}

/**
 * The EC2 state-change forwarder: reads instance tags and puts events on the central bus.
 * The one `*` resource in the stack: ec2:DescribeTags has no resource-level permissions (AWS
 * accepts only `*` for it), and it only reads tags.
 */
export function forwarderPermissions(busArn: Input<string>): Statement[] {
  return [
    { actions: ["ec2:DescribeTags"], resources: ["*"] },
    { actions: ["events:PutEvents"], resources: [busArn] },
  ];
}

/** The reaper: due and active indexes, re-drives (tickets), dead-letter drains. */
export function reaperPermissions(a: GridArns): Statement[] {
  return [
    tableAccess(a),
    { actions: ["sqs:SendMessage"], resources: a.ticketQueues },
    { actions: ["sqs:ReceiveMessage", "sqs:DeleteMessage"], resources: a.deadLetterQueues },
    { actions: ["s3:GetObject"], resources: objects(a) },
  ];
}

/**
 * For every function's `transform`: only Lambda may assume the function's role. SST 4.17
 * decides the trust policy with `!dev` on an Output (always false), so every role would also
 * trust the account root, which only `sst dev` needs (Live Lambda runs the code on the
 * developer's machine under the role). Under `sst dev` SST's policy is kept.
 */
export const lambdaOnlyTrust = {
  role: (args: aws.iam.RoleArgs): undefined => {
    if (!$dev)
      args.assumeRolePolicy = aws.iam.assumeRolePolicyForPrincipal({ Service: "lambda.amazonaws.com" });
    return undefined;
  },
};
