/**
 * Lambda pools in any language (TESSERA_WORKER_IMAGE_POOLS): per such pool, a container-image
 * function that runs the warm-worker protocol (docs/worker-protocol.md) in an image holding the
 * language's runtime — the user builds and pushes it (examples/lambda-worker-image/), the stack
 * only references it by its ECR URI. The function is the zip worker's twin: the warm-worker entry
 * (packages/functions/src/entries/warm-worker.ts) with the grid's environment, the same
 * least-privilege grants on its own pool's queues, a role only Lambda may assume, and the same
 * event source mappings, subscribed in functions.ts. SST's Function builds images only for
 * Python from a Dockerfile, so the function, its role and log group are Pulumi's own resources.
 */
import { split } from "shlex";
import { z } from "zod";
import { IdSchema, parseInput } from "../packages/core/src/model/schemas.ts";
import { WORKER_TIMEOUT_SECONDS } from "./grid.ts";
import { type GridArns, workerPermissions } from "./permissions.ts";
import type { queues as makeQueues } from "./queues.ts";
import { type LogGroupRef, logRetentionDays } from "./task-logs.ts";

/** An image in Amazon ECR (the only registry Lambda pulls from), by tag or by digest. */
const ECR_IMAGE =
  /^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\/[a-z0-9]+(?:[._/-][a-z0-9]+)*(:[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})$/;

/** Whether the entry will be able to split a command (packages/functions/src/warm-worker.ts). */
function splits(command: string): boolean {
  try {
    split(command);
    return true;
  } catch {
    return false;
  }
}

/** How one image pool runs. */
export const ImagePoolSchema = z
  .object({
    /** The image's URI in ECR (`<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>` or `@sha256:…`). */
    image: z
      .string()
      .regex(ECR_IMAGE, "must be an Amazon ECR image URI (…dkr.ecr.<region>.amazonaws.com/<repo>:<tag>)"),
    /** The warm worker's command in the image (TESSERA_WORKER_COMMAND), e.g. `python3 -m tessera.worker pricing`. */
    command: z
      .string()
      .trim()
      .min(1, "give the command that starts a worker process")
      .refine((c) => splits(c), "must split as a shell would split it (unbalanced quotes?)"),
    /** Memory, MB. @default 2048 */
    memory: z.number().int().min(128).max(10_240).default(2048),
    /** Timeout, seconds; its queues hide tickets for six times the zip worker's 900. @default 900 */
    timeout: z.number().int().min(1).max(WORKER_TIMEOUT_SECONDS).default(WORKER_TIMEOUT_SECONDS),
    /** The image's architecture. @default "arm64" */
    arch: z.enum(["arm64", "x86_64"]).default("arm64"),
    /** Worker processes per container (TESSERA_WORKER_CONCURRENCY). @default the entry's, 16 */
    concurrency: z.number().int().min(1).max(256).optional(),
    /**
     * The task types its workers serve: the API refuses a submit to the pool naming another.
     * @default unknown to the deploy: the pool accepts any handler
     */
    handlers: z.array(IdSchema).min(1).optional(),
  })
  .strict();

/** One image pool's settings, defaults applied. */
export type ImagePoolSettings = z.output<typeof ImagePoolSchema>;

/**
 * The image pools of TESSERA_WORKER_IMAGE_POOLS, a JSON object keyed by pool, e.g.
 * `{"py":{"image":"123456789012.dkr.ecr.us-east-1.amazonaws.com/tessera-py:1","command":"python3 -m tessera.worker pricing","handlers":["price-py"]}}`.
 * Each must be a Lambda pool (in TESSERA_POOLS, not in TESSERA_AGENT_POOLS); a bad value stops
 * the deploy with an error naming the field.
 */
export function imagePoolSettings(
  lambdaPools: string[],
  json = process.env.TESSERA_WORKER_IMAGE_POOLS,
): Record<string, ImagePoolSettings> {
  if (!json) return {};
  let given: unknown;
  try {
    given = JSON.parse(json);
  } catch {
    throw new Error("TESSERA_WORKER_IMAGE_POOLS is not valid JSON");
  }
  if (typeof given !== "object" || given === null || Array.isArray(given))
    throw new Error("TESSERA_WORKER_IMAGE_POOLS must be a JSON object keyed by pool");
  return Object.fromEntries(
    Object.entries(given).map(([pool, value]) => {
      if (!lambdaPools.includes(pool))
        throw new Error(
          `TESSERA_WORKER_IMAGE_POOLS.${pool}: not a Lambda pool (the pools of TESSERA_POOLS not in TESSERA_AGENT_POOLS: ${lambdaPools.join(", ") || "none"})`,
        );
      return [pool, parseInput(ImagePoolSchema, value, `TESSERA_WORKER_IMAGE_POOLS.${pool}`)];
    }),
  );
}

/** The API's handler catalogue entries of the image pools whose handlers the settings name. */
export function imageCatalogue(
  pools: Record<string, ImagePoolSettings>,
): Record<string, { handlers: string[]; default: null }> {
  return Object.fromEntries(
    Object.entries(pools).flatMap(([pool, s]) =>
      s.handlers ? [[pool, { handlers: [...s.handlers].sort(), default: null }]] : [],
    ),
  );
}

/** A declared image function: what functions.ts subscribes and the API reads logs from. */
export interface ImageWorker {
  pool: string;
  /** The function's name (fixed: its log group is named after it). */
  name: string;
  arn: $util.Output<string>;
  logGroup: LogGroupRef;
}

/** Declares the image pools' functions, each with its role and log group. */
export function imageWorkers(
  pools: Record<string, ImagePoolSettings>,
  arns: GridArns,
  ticketQueues: ReturnType<typeof makeQueues>["ticketQueues"],
  /** The grid's environment, as every function gets it. */
  environment: Record<string, $util.Input<string>>,
  prefix: string,
): ImageWorker[] {
  const { partition } = aws.getPartitionOutput();
  return Object.entries(pools).map(([pool, s]) => {
    const id = pool.replace(/[^A-Za-z0-9]/g, "");
    const name = `${prefix}-worker-${pool}`;
    if (name.length > 64)
      throw new Error(
        `TESSERA_WORKER_IMAGE_POOLS.${pool}: the function name ${name} exceeds Lambda's 64 characters`,
      );
    // Only Lambda may assume it (see lambdaOnlyTrust); its own logs through AWS's managed policy.
    const role = new aws.iam.Role(`ImageWorker${id}Role`, {
      assumeRolePolicy: aws.iam.assumeRolePolicyForPrincipal({ Service: "lambda.amazonaws.com" }),
      managedPolicyArns: [
        $interpolate`arn:${partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole`,
      ],
    });
    new aws.iam.RolePolicy(`ImageWorker${id}Policy`, {
      role: role.id,
      policy: aws.iam.getPolicyDocumentOutput({
        statements: workerPermissions(
          arns,
          ticketQueues.filter((q) => q.pool === pool).map((q) => q.queue.arn),
        ),
      }).json,
    });
    // Its tasks' log entries are its stdout: kept as long as the task records, as the worker's.
    const logGroup = new aws.cloudwatch.LogGroup(`ImageWorker${id}LogGroup`, {
      name: `/aws/lambda/${name}`,
      retentionInDays: logRetentionDays(),
    });
    const fn = new aws.lambda.Function(`ImageWorker${id}Function`, {
      name,
      description: `Tessera warm workers, pool ${pool}`,
      packageType: "Image",
      imageUri: s.image,
      architectures: [s.arch],
      memorySize: s.memory,
      timeout: s.timeout,
      role: role.arn,
      loggingConfig: { logFormat: "Text", logGroup: logGroup.name },
      environment: {
        variables: {
          ...environment,
          TESSERA_WORKER_COMMAND: s.command,
          ...(s.concurrency ? { TESSERA_WORKER_CONCURRENCY: String(s.concurrency) } : {}),
        },
      },
    });
    return { pool, name, arn: fn.arn, logGroup: { name: logGroup.name, arn: logGroup.arn } };
  });
}
