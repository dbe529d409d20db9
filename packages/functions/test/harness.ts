/**
 * Invokes the real handlers with real API Gateway v2, SQS and scheduled event shapes against a
 * grid on the emulators (DynamoDB Local + fauxqs). The SQS side receives real messages and
 * turns them into event records the way Lambda's event source mapping does.
 */
import { randomUUID } from "node:crypto";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { sessionUsageFor } from "@tessera/core/aws";
import { type AwsTestGrid, provisionTestGrid } from "@tessera/core/testing/aws";
import type { TaskDefinition } from "@tessera/task";
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
  ScheduledEvent,
  SQSBatchResponse,
  SQSEvent,
} from "aws-lambda";
import { inject } from "vitest";
import { createApiHandler } from "../src/api.ts";
import { createObservability } from "../src/observability.ts";
import { createReaperHandler } from "../src/reaper.ts";
import type { GridRuntime } from "../src/runtime.ts";
import { sqsEventOf } from "../src/sqs-event.ts";
import { createWorkerHandler, type WorkerOptions } from "../src/worker.ts";

/** Bearer tokens of the test tenants. */
export const TOKENS = { acme: "tok-acme", globex: "tok-globex" } as const;

/** A Lambda context with `timeoutMs` left. */
export function lambdaContext(timeoutMs = 30_000): Context {
  const end = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: "tessera-test",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:tessera-test",
    memoryLimitInMB: "1024",
    awsRequestId: randomUUID(),
    logGroupName: "/aws/lambda/tessera-test",
    logStreamName: "2026/11/24/[$LATEST]test",
    getRemainingTimeInMillis: () => Math.max(0, end - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** Options of one HTTP call. */
export interface CallOptions {
  /** Tenant whose token is sent; `null` sends none. @default "acme" */
  as?: keyof typeof TOKENS | null;
  /** Raw Authorization header (overrides `as`). */
  authorization?: string;
  /** JSON-serialized unless a string. */
  body?: unknown;
  contentType?: string | null;
  query?: Record<string, string>;
  /** API Gateway's authorizer context (IAM or JWT). */
  authorizer?: Record<string, unknown>;
  /** Time the API function has left for the call. @default 30000 */
  timeoutMs?: number;
}

/** An HTTP API event (payload format 2.0), as API Gateway sends it. */
export function httpEvent(method: string, path: string, options: CallOptions = {}): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = { host: "api.example.com", "user-agent": "tessera-test" };
  const as = options.as === undefined ? "acme" : options.as;
  if (options.authorization !== undefined) headers.authorization = options.authorization;
  else if (as !== null) headers.authorization = `Bearer ${TOKENS[as]}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    if (options.contentType !== null) headers["content-type"] = options.contentType ?? "application/json";
  }
  const query = options.query ?? {};
  const rawQueryString = new URLSearchParams(query).toString();
  const requestId = randomUUID();
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: path,
    rawQueryString,
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: "000000000000",
      apiId: "api",
      domainName: "api.example.com",
      domainPrefix: "api",
      http: { method, path, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "tessera-test" },
      requestId,
      routeKey: "$default",
      stage: "$default",
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
      ...(options.authorizer ? { authorizer: options.authorizer } : {}),
    },
    ...(body !== undefined ? { body } : {}),
    isBase64Encoded: false,
  } as APIGatewayProxyEventV2;
}

/** A grid on the emulators with the three functions over it. */
export interface Harness {
  grid: AwsTestGrid;
  runtime: GridRuntime;
  /** Calls the API; returns the status and parsed JSON body. */
  call(
    method: string,
    path: string,
    options?: CallOptions,
  ): // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by each test
  Promise<{ status: number; body: any }>;
  /** Receives up to `max` tickets of a queue as an SQS event, as the event source mapping would. */
  receive(queue?: string, options?: { max?: number }): Promise<SQSEvent>;
  /** Receives up to `max` tickets of a queue and hands them to the worker as one SQS event. */
  deliver(
    queue?: string,
    options?: { max?: number; timeoutMs?: number },
  ): Promise<{ event: SQSEvent; response: SQSBatchResponse }>;
  /** Invokes the worker with an event. */
  work(event: SQSEvent, timeoutMs?: number): Promise<SQSBatchResponse>;
  /** Runs the reaper with a scheduled event. */
  reap(): Promise<unknown>;
  /** Metrics the worker recorded, by name: summed values. */
  workerMetrics: Map<string, number>;
  /** Every item of the grid's table (for "nothing changed" checks). */
  scan(): Promise<Record<string, unknown>[]>;
  close(): void;
}

/** Builds a harness; `tasks` are the worker's task definitions. */
export async function harness(
  tasks: TaskDefinition[],
  options: Partial<Omit<WorkerOptions, "tasks">> = {},
): Promise<Harness> {
  const grid = await provisionTestGrid(inject("emulators"));
  const runtime: GridRuntime = {
    ports: grid.ports,
    auth: { jwtTenantClaim: "tenant", tokens: new Map(Object.entries(TOKENS).map(([t, tok]) => [tok, t])) },
    // As in production: the clients' counting middleware attributes calls to sessions.
    usage: sessionUsageFor(grid.clients, grid.ports),
  };
  const api = createApiHandler(() => runtime, createObservability("test-api"));
  const workerObservability = createObservability("test-worker");
  const workerMetrics = new Map<string, number>();
  const addMetric = workerObservability.metrics.addMetric.bind(workerObservability.metrics);
  workerObservability.metrics.addMetric = (name, unit, value) => {
    workerMetrics.set(name, (workerMetrics.get(name) ?? 0) + value);
    return addMetric(name, unit, value);
  };
  const worker = createWorkerHandler(
    () => runtime,
    { tasks: new Map(tasks.map((t) => [t.name, t])), ...options },
    workerObservability,
  );
  const reaper = createReaperHandler(() => runtime, createObservability("test-reaper"));
  const work = (event: SQSEvent, timeoutMs = 30_000) => worker(event, lambdaContext(timeoutMs));
  const receive = async (
    queue = "default-normal",
    receiveOptions: { max?: number } = {},
  ): Promise<SQSEvent> => {
    const definition = grid.grid.queues.find((q) => q.name === queue)!;
    const out = await grid.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: grid.queueUrls[queue],
        MaxNumberOfMessages: receiveOptions.max ?? 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: 30,
        MessageSystemAttributeNames: ["All"],
      }),
    );
    return sqsEventOf(out.Messages ?? [], definition.physicalName);
  };

  return {
    grid,
    runtime,
    workerMetrics,
    async call(method, path, callOptions) {
      const result = (await api(
        httpEvent(method, path, callOptions),
        lambdaContext(callOptions?.timeoutMs),
      )) as APIGatewayProxyStructuredResultV2;
      return { status: result.statusCode ?? 200, body: result.body ? JSON.parse(result.body) : undefined };
    },
    receive,
    async deliver(queue = "default-normal", deliverOptions = {}) {
      const event = await receive(queue, deliverOptions);
      return { event, response: await work(event, deliverOptions.timeoutMs) };
    },
    work,
    async reap() {
      const event = {
        version: "0",
        id: randomUUID(),
        "detail-type": "Scheduled Event",
        source: "aws.events",
        account: "000000000000",
        time: new Date().toISOString(),
        region: "us-east-1",
        resources: ["arn:aws:events:us-east-1:000000000000:rule/tessera-reaper"],
        detail: {},
      } satisfies ScheduledEvent;
      return reaper(event, lambdaContext());
    },
    async scan() {
      const items: Record<string, unknown>[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const out = await grid.clients.doc.send(
          new ScanCommand({
            TableName: grid.grid.table.name,
            ExclusiveStartKey: start,
            ConsistentRead: true,
          }),
        );
        items.push(...(out.Items ?? []));
        start = out.LastEvaluatedKey;
      } while (start);
      return items.sort((a, b) => `${a.pk}|${a.sk}`.localeCompare(`${b.pk}|${b.sk}`));
    },
    close: () => grid.close(),
  };
}
