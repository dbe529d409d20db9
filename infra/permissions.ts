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

/** The Lambda worker: claims, heartbeats, commits, acknowledgements; payloads and results. */
export function workerPermissions(a: GridArns): Statement[] {
  return [
    tableAccess(a),
    { actions: ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage"], resources: a.ticketQueues },
    { actions: ["s3:GetObject", "s3:PutObject"], resources: objects(a) },
    { actions: ["s3:ListBucket"], resources: [a.bucket] },
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
