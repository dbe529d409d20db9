/**
 * The functions: the HTTP API (API Gateway HTTP API, IAM auth on every route, throttled, CORS),
 * the SQS worker on the queues of Lambda-served pools (batches of 10, partial batch failures,
 * a concurrency cap per pool) — or, for a pool in another language, its container-image twin
 * (image-workers.ts) — and the reaper on a schedule. arm64, Node 24.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { GridDefinition } from "../packages/core/src/resources.ts";
import { collectTasks } from "../packages/task/src/task-definition.ts";
import { TASK_MODULES } from "./agents.ts";
import { scalerFunctionName, WORKER_TIMEOUT_SECONDS } from "./grid.ts";
import { imageCatalogue, imagePoolSettings, imageWorkers } from "./image-workers.ts";
import {
  apiPermissions,
  type GridArns,
  lambdaOnlyTrust,
  reaperPermissions,
  taskLogReadPermissions,
  workerPermissions,
} from "./permissions.ts";
import type { queues as makeQueues } from "./queues.ts";
import { retentionDays } from "./storage.ts";
import { type LogGroupRef, logGroupResource, logRetentionDays } from "./task-logs.ts";

/** Settings read at deploy time. */
export const settings = {
  /** Worker memory, MB. @default 1769 (one full vCPU) */
  workerMemoryMb: Number(process.env.TESSERA_WORKER_MEMORY_MB ?? 1769),
  /** Most concurrent worker invocations per queue. @default 50 */
  workerMaxConcurrency: Number(process.env.TESSERA_WORKER_MAX_CONCURRENCY ?? 50),
  /** The worker's entry: a module exporting `handler` built over the user's task modules. */
  workerEntry: process.env.TESSERA_WORKER_ENTRY ?? "examples/worker.handler",
  /**
   * JWT instead of IAM on the API: the token issuer (an OIDC provider such as Cognito, Auth0 or
   * Entra ID) and the audiences it must carry. The tenant is the claim named by
   * TESSERA_JWT_TENANT_CLAIM (default `tenant`). @default IAM (SigV4)
   */
  jwt: process.env.TESSERA_JWT_ISSUER
    ? {
        issuer: process.env.TESSERA_JWT_ISSUER,
        audiences: (process.env.TESSERA_JWT_AUDIENCES ?? "")
          .split(",")
          .map((a) => a.trim())
          .filter(Boolean),
        tenantClaim: process.env.TESSERA_JWT_TENANT_CLAIM ?? "tenant",
      }
    : undefined,
};

/** Per pool, the task types it runs (TESSERA_HANDLERS; see packages/functions/src/handler-catalogue.ts). */
export type HandlerCatalogue = Record<string, { handlers: string[]; default: string | null }>;

/** Imports a repository module (SST evaluates infra/ bundled elsewhere: paths are from the cwd). */
async function importModule(path: string, setting: string): Promise<Record<string, unknown>> {
  const file = ["", ".ts", ".mts", ".js", ".mjs"]
    .map((ext) => resolve(path + ext))
    .find((f) => existsSync(f) && /\.[cm]?[jt]s$/.test(f));
  if (!file) throw new Error(`${setting}: no module ${path} (.ts or .js)`);
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`${setting}: cannot load ${file}: ${(error as Error).message}`);
  }
}

/**
 * What each pool runs, read at deploy time from the code that runs it, so the API refuses a
 * submit naming a handler its pool does not run instead of every task failing after its
 * retries: for the Lambda pools, the worker entry's `tasks` and `defaultTask` exports (see
 * examples/worker.ts: importing an entry starts nothing); for the agent pools, the agents' task
 * modules (TESSERA_AGENT_TASKS; the agents start with no default task). A pool whose code the
 * deploy cannot see is left out and accepts any handler: the Lambda pools when the entry
 * exports no `tasks`, the agent pools when agents may run on EKS (their image brings its own
 * task modules, or a `--command` program).
 */
export async function handlerCatalogue(
  lambdaPools: string[],
  agentPools: string[],
): Promise<HandlerCatalogue> {
  const catalogue: HandlerCatalogue = {};
  if (lambdaPools.length > 0) {
    const entry = settings.workerEntry;
    const module = await importModule(entry.slice(0, entry.lastIndexOf(".")), "TESSERA_WORKER_ENTRY");
    if (module.tasks instanceof Map) {
      const handlers = [...(module.tasks as Map<string, unknown>).keys()].sort();
      const fallback = module.defaultTask === undefined ? null : String(module.defaultTask);
      if (fallback !== null && !handlers.includes(fallback))
        throw new Error(
          `TESSERA_WORKER_ENTRY: ${entry}'s defaultTask "${fallback}" is not one of its tasks (${handlers.join(", ")})`,
        );
      for (const pool of lambdaPools) catalogue[pool] = { handlers, default: fallback };
    }
  }
  if (agentPools.length > 0 && !process.env.TESSERA_EKS_OIDC_PROVIDER_ARN) {
    const modules = await Promise.all(TASK_MODULES.map((m) => importModule(m, "TESSERA_AGENT_TASKS")));
    const handlers = [...collectTasks(...modules).keys()].sort();
    for (const pool of agentPools) catalogue[pool] = { handlers, default: null };
  }
  return catalogue;
}

/** What every function shares: arm64, Node 24, the grid's environment, a Lambda-only role. */
export function functionDefaults<E>(environment: E) {
  return {
    runtime: "nodejs24.x" as const,
    architecture: "arm64" as const,
    environment,
    transform: lambdaOnlyTrust,
  };
}

export function functions(
  grid: GridDefinition,
  arns: GridArns,
  ticketQueues: ReturnType<typeof makeQueues>["ticketQueues"],
  /** Pools the Lambda worker consumes (see servedBy in grid.ts). */
  lambdaPools: string[],
  /** Pools agents serve: a submit to one wakes the fleet scaler. */
  agentPools: string[],
  /** The payload and result bucket's name (SST names it). */
  bucketName: $util.Input<string>,
  /** The agents' task log group, when there are agent pools (infra/task-logs.ts). */
  agentTaskLogs?: LogGroupRef,
) {
  const { partition, dnsSuffix } = aws.getPartitionOutput();
  const region = aws.getRegionOutput().name;
  const account = aws.getCallerIdentityOutput().accountId;
  const environment = {
    TESSERA_PREFIX: grid.table.name.replace(/-tasks$/, ""),
    TESSERA_POOLS: grid.pools.join(","),
    TESSERA_QUEUE_URL_BASE: $interpolate`https://sqs.${region}.${dnsSuffix}/${account}`,
    TESSERA_BUCKET: bucketName,
    TESSERA_RETENTION_DAYS: String(retentionDays()),
    NODE_OPTIONS: "--enable-source-maps",
  };
  const common = functionDefaults(environment);

  const api = new sst.aws.ApiGatewayV2("Api", {
    cors: {
      allowOrigins: ["*"],
      allowMethods: ["GET", "POST"],
      allowHeaders: ["authorization", "content-type"],
    },
    transform: {
      stage: (args) => {
        args.defaultRouteSettings = { throttlingBurstLimit: 2_000, throttlingRateLimit: 1_000 };
      },
    },
  });
  const jwt = settings.jwt;
  if (jwt && jwt.audiences.length === 0)
    throw new Error(
      "TESSERA_JWT_AUDIENCES: give the audiences (comma-separated) the API's tokens must carry",
    );
  const prefix = grid.table.name.replace(/-tasks$/, "");
  const scaler =
    agentPools.length === 0
      ? undefined
      : {
          name: scalerFunctionName(prefix),
          arn: $interpolate`arn:${partition}:lambda:${region}:${account}:function:${scalerFunctionName(prefix)}`,
        };
  // Lambda pools of another language run in container images of their own (image-workers.ts);
  // the worker exists when some other pool is served by Lambda (a grid of agent pools has none).
  const imagePools = imagePoolSettings(lambdaPools);
  const zipPools = lambdaPools.filter((p) => !(p in imagePools));
  const images = imageWorkers(imagePools, arns, ticketQueues, environment, prefix);
  const served = ticketQueues.filter((q) => zipPools.includes(q.pool));
  const worker =
    served.length === 0
      ? undefined
      : new sst.aws.Function("Worker", {
          ...common,
          handler: settings.workerEntry,
          memory: `${settings.workerMemoryMb} MB`,
          timeout: `${WORKER_TIMEOUT_SECONDS} seconds`,
          // Task threads (see isolate in examples/worker.ts) need piscina's own thread file,
          // which a bundle cannot hold: it is installed beside the bundle.
          nodejs: { install: ["piscina"] },
          // Its log group holds its tasks' log entries: kept as long as the task records.
          transform: {
            ...common.transform,
            logGroup: (args) => {
              args.retentionInDays = logRetentionDays();
            },
          },
          permissions: workerPermissions(
            arns,
            served.map((q) => q.queue.arn),
          ),
        });
  // The groups holding task log entries, read by the API's logs route: the worker's (SST
  // creates `/aws/lambda/<name>`), the image workers' and the agents'.
  const taskLogGroups = [
    ...(worker ? [worker.nodes.logGroup.apply((g) => ({ name: g!.name, arn: g!.arn }))] : []),
    ...images.map((i) => $util.output(i.logGroup)),
    ...(agentTaskLogs ? [$util.output(agentTaskLogs)] : []),
  ];
  const apiFunction = {
    ...common,
    environment: {
      ...environment,
      ...(jwt ? { TESSERA_JWT_TENANT_CLAIM: jwt.tenantClaim } : {}),
      ...(scaler ? { TESSERA_SCALER_FUNCTION: scaler.name, TESSERA_AGENT_POOLS: agentPools.join(",") } : {}),
      TESSERA_HANDLERS: handlerCatalogue(zipPools, agentPools).then((c) =>
        JSON.stringify({ ...c, ...imageCatalogue(imagePools) }),
      ),
      TESSERA_TASK_LOG_GROUPS: $util.all(taskLogGroups.map((g) => g.name)).apply((names) => names.join(",")),
    },
    handler: "packages/functions/src/entries/api.handler",
    memory: "1024 MB" as const,
    timeout: "29 seconds" as const,
    permissions: [
      ...apiPermissions(arns),
      ...taskLogReadPermissions(taskLogGroups.map((g) => logGroupResource(g.arn))),
      ...(scaler ? [{ actions: ["lambda:InvokeFunction"], resources: [scaler.arn] }] : []),
    ],
  };
  // One function serves every route; each route is authenticated, by IAM (SigV4) or a JWT.
  const auth = jwt
    ? {
        jwt: {
          authorizer: api.addAuthorizer({
            name: "Jwt",
            jwt: { issuer: jwt.issuer, audiences: jwt.audiences },
          }).id,
        },
      }
    : { iam: true };
  api.route("ANY /{proxy+}", apiFunction, { auth });

  // The image workers' pools get the zip worker's batching, partial failures and shares.
  const subscribers = [
    ...served.map((q) => ({ q, arn: worker!.arn })),
    ...images.flatMap((i) => ticketQueues.filter((q) => q.pool === i.pool).map((q) => ({ q, arn: i.arn }))),
  ];
  for (const { q, arn } of subscribers) {
    q.queue.subscribe(arn, {
      batch: { size: 10, window: "0 seconds", partialResponses: true },
      transform: {
        eventSourceMapping: (args) => {
          // Priority on a Lambda pool: each queue's share of the worker's concurrency (high all
          // of it, normal half, low a quarter; at least 2, Lambda's minimum), so under a
          // backlog in every class high runs most and low still runs.
          args.scalingConfig = {
            maximumConcurrency: Math.max(2, Math.round(settings.workerMaxConcurrency * q.share)),
          };
        },
      },
    });
  }

  const reaper = new sst.aws.CronV2("Reaper", {
    schedule: "rate(1 minute)",
    function: {
      ...common,
      handler: "packages/functions/src/entries/reaper.handler",
      timeout: "5 minutes",
      permissions: reaperPermissions(arns),
    },
  });
  return {
    api,
    worker,
    images,
    reaper,
    environment,
    region,
    auth: jwt ? ("jwt" as const) : ("iam" as const),
  };
}
