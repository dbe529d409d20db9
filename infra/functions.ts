/**
 * The functions: the HTTP API (API Gateway HTTP API, IAM auth on every route, throttled, CORS),
 * the SQS worker on the queues of Lambda-served pools (batches of 10, partial batch failures,
 * a concurrency cap per pool), and the reaper on a schedule. arm64, Node 24.
 */
import type { GridDefinition } from "../packages/core/src/resources.ts";
import { apiPermissions, type GridArns, reaperPermissions, workerPermissions } from "./permissions.ts";
import type { queues as makeQueues } from "./queues.ts";

/** Settings read at deploy time. */
export const settings = {
  /** Pools served by the Lambda worker (the rest are for agents). @default all */
  lambdaPools: process.env.TESSERA_LAMBDA_POOLS?.split(",").map((p) => p.trim()),
  /** Worker memory, MB. @default 1769 (one full vCPU) */
  workerMemoryMb: Number(process.env.TESSERA_WORKER_MEMORY_MB ?? 1769),
  /** Most concurrent worker invocations per queue. @default 50 */
  workerMaxConcurrency: Number(process.env.TESSERA_WORKER_MAX_CONCURRENCY ?? 50),
  /** The worker's entry: a module exporting `handler` built over the user's task modules. */
  workerEntry: process.env.TESSERA_WORKER_ENTRY ?? "examples/worker.handler",
};

export function functions(
  grid: GridDefinition,
  arns: GridArns,
  ticketQueues: ReturnType<typeof makeQueues>["ticketQueues"],
) {
  const region = aws.getRegionOutput().name;
  const account = aws.getCallerIdentityOutput().accountId;
  const environment = {
    TESSERA_PREFIX: grid.table.name.replace(/-tasks$/, ""),
    TESSERA_POOLS: grid.pools.join(","),
    TESSERA_QUEUE_URL_BASE: $interpolate`https://sqs.${region}.amazonaws.com/${account}`,
    NODE_OPTIONS: "--enable-source-maps",
  };
  const common = { runtime: "nodejs24.x" as const, architecture: "arm64" as const, environment };

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
  const apiFunction = {
    ...common,
    handler: "packages/functions/src/entries/api.handler",
    memory: "1024 MB" as const,
    timeout: "29 seconds" as const,
    permissions: apiPermissions(arns),
  };
  // One function serves every route; each route is authenticated by IAM (SigV4).
  api.route("ANY /{proxy+}", apiFunction, { auth: { iam: true } });

  const worker = new sst.aws.Function("Worker", {
    ...common,
    handler: settings.workerEntry,
    memory: `${settings.workerMemoryMb} MB`,
    timeout: "15 minutes",
    permissions: workerPermissions(arns),
  });
  const served = new Set(settings.lambdaPools ?? grid.pools);
  for (const q of ticketQueues) {
    if (!served.has(q.pool)) continue;
    q.queue.subscribe(worker.arn, {
      batch: { size: 10, window: "0 seconds", partialResponses: true },
      transform: {
        eventSourceMapping: (args) => {
          args.scalingConfig = { maximumConcurrency: settings.workerMaxConcurrency };
        },
      },
    });
  }

  const reaper = new sst.aws.Cron("Reaper", {
    schedule: "rate(1 minute)",
    function: {
      ...common,
      handler: "packages/functions/src/entries/reaper.handler",
      timeout: "5 minutes",
      permissions: reaperPermissions(arns),
    },
  });
  return { api, worker, reaper, environment, region };
}
