/**
 * Least-privilege IAM statements, one builder per function: each names the exact actions it
 * calls and the exact table (and its indexes), queues and bucket it uses. No `*` action or
 * resource anywhere.
 */
import type { Input } from "../.sst/platform/src/components/input";

/** What a grid's functions may reach. */
export interface GridArns {
  table: Input<string>;
  bucket: Input<string>;
  ticketQueues: Input<string>[];
  deadLetterQueues: Input<string>[];
}

type Statement = { actions: string[]; resources: Input<string>[] };

// `table/index/*`: the indexes of this one table (GSI access needs their ARNs; all three are used).
const tableAndIndexes = (a: GridArns): Input<string>[] => [a.table, $interpolate`${a.table}/index/*`];
const objects = (a: GridArns): Input<string>[] => [$interpolate`${a.bucket}/t/*`];

/**
 * The item operations every function performs on the table and its indexes. Transactions
 * (commits) need the per-item actions they contain; no function scans, deletes or batch-writes.
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
 * the workload's identity. `bundle` is the agent's code object, read once at boot (EC2 only).
 */
export function agentPermissions(a: GridArns, served: Input<string>[], bundle?: Input<string>): Statement[] {
  // The same calls as the Lambda worker (the one dispatch core), plus the code object.
  return [
    ...workerPermissions(a, served),
    ...(bundle ? [{ actions: ["s3:GetObject"], resources: [bundle] }] : []),
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
