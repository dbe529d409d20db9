/**
 * `npm run bench:core -- --tasks N`: N no-op tasks with 1 KB payloads end to end on DynamoDB
 * Local + fauxqs (submit → agents → streamed results), with every AWS call metered. Prints
 * tasks/s, calls per task by service and operation, DynamoDB write and read units per task,
 * dollars per million tasks at list price, and the most writes any partition key received;
 * the last line is JSON.
 */
import { randomUUID } from "node:crypto";
import { checkNodeVersion } from "../../../scripts/check-node.ts";
import {
  awsGridPorts,
  createAwsClients,
  destroyAwsClients,
  LOCAL_CREDENTIALS,
  provisionGrid,
} from "../src/adapters/aws/index.ts";
import { Dispatcher } from "../src/dispatch/dispatcher.ts";
import { ResultsReader } from "../src/dispatch/results-reader.ts";
import { createSession } from "../src/dispatch/sessions.ts";
import { submitTasks } from "../src/dispatch/submitter.ts";
import { runPollLoop } from "../src/dispatch/worker-loop.ts";
import { startDynamoDbLocal, startFauxqsEmulator } from "../src/emulators/index.ts";
import { isGridError } from "../src/errors.ts";
import { attachCallMeter, CallMeter } from "../src/metering/index.ts";
import { defineGrid } from "../src/resources.ts";
import { numberFlags } from "./args.ts";

checkNodeVersion();
const { tasks, batch, agents, chunk } = numberFlags({ tasks: 20_000, batch: 5_000, agents: 2, chunk: 64 });
const QUEUE = "default-normal";

let dynamo: Awaited<ReturnType<typeof startDynamoDbLocal>>;
try {
  dynamo = await startDynamoDbLocal();
} catch (error) {
  console.error(isGridError(error) ? error.message : String(error));
  process.exit(1);
}
const fauxqs = await startFauxqsEmulator();
const clients = createAwsClients({
  dynamoEndpoint: dynamo.endpoint,
  queueEndpoint: fauxqs.endpoint,
  credentials: LOCAL_CREDENTIALS,
});
const grid = defineGrid({ prefix: `bench${randomUUID().slice(0, 6)}` });
const urls = await provisionGrid(clients, grid);
const ports = awsGridPorts(clients, grid, urls);
const meter = new CallMeter();
for (const client of [clients.dynamo, clients.sqs, clients.s3]) attachCallMeter(client, meter);

const key = { tenant: "bench", sessionId: "core" };
const payload = "x".repeat(1024);
let submitRequests = 0;
let submitBytes = 0;
let resultPolls = 0;
let workerBatches = 0;

try {
  await createSession(ports, key.tenant, { sessionId: key.sessionId, config: { chunkMaxTasks: chunk } });
  const stop = new AbortController();
  const loops: Promise<void>[] = [];
  for (let i = 0; i < agents; i++) {
    const dispatcher = new Dispatcher(ports, {
      owner: `agent-${i}`,
      runner: async () => undefined,
      concurrency: 256,
    });
    loops.push(
      runPollLoop(ports, dispatcher, { queues: [QUEUE], maxLeases: 20, idleWaitSeconds: 1 }, stop.signal),
    );
  }
  const t0 = performance.now();
  const submitting = (async () => {
    for (let from = 0; from < tasks; from += batch) {
      const n = Math.min(batch, tasks - from);
      const body = { tasks: Array.from({ length: n }, (_, i) => ({ index: from + i, payload })) };
      submitRequests++;
      submitBytes += JSON.stringify(body).length;
      await submitTasks(ports, key, body);
    }
  })();
  const reader = new ResultsReader(ports, key);
  let done = 0;
  let failed = 0;
  while (done < tasks) {
    const outcomes = await reader.poll();
    resultPolls++;
    done += outcomes.length;
    failed += outcomes.filter((o) => o.status !== "SUCCEEDED").length;
    if (done < tasks) await new Promise((r) => setTimeout(r, 100));
    if (performance.now() - t0 > 15 * 60_000) throw new Error(`timed out with ${done}/${tasks} results`);
  }
  const seconds = (performance.now() - t0) / 1000;
  await submitting;
  stop.abort();
  await Promise.all(loops);
  if (failed > 0) throw new Error(`${failed} tasks did not succeed`);

  workerBatches =
    meter.operations().find((o) => o.service === "SQS" && o.operation === "ReceiveMessage")?.calls ?? 0;
  // What a local run cannot observe: the API Gateway request and Lambda invocation behind each
  // submit batch and each results poll, and the Lambda invocation behind each worker batch
  // (on AWS the SQS event source receives; here the agents' receives stand in for it).
  meter.addModelled({
    service: "APIGateway",
    operation: "HTTP request (submit)",
    requests: submitRequests,
    bytes: submitBytes / submitRequests,
  });
  meter.addModelled({
    service: "APIGateway",
    operation: "HTTP request (results)",
    requests: resultPolls,
    bytes: 64 * 1024,
  });
  meter.addModelled({ service: "Lambda", operation: "Invoke (API)", requests: submitRequests + resultPolls });
  meter.addModelled({ service: "Lambda", operation: "Invoke (worker)", requests: workerBatches });

  const report = meter.report(tasks);
  const t = report.totals;
  console.log(
    `\n${tasks.toLocaleString("en")} no-op 1 KB tasks, chunks of ${chunk}, ${agents} agents, DynamoDB Local + fauxqs\n`,
  );
  console.log(report.formatTable());
  console.log(
    `\nthroughput          ${(tasks / seconds).toFixed(0)} tasks/s (submit to last result: ${seconds.toFixed(2)} s)`,
  );
  console.log(
    `calls per task      ${t.callsPerTask.toFixed(4)} (observed AWS calls: ${t.observedCallsPerTask.toFixed(4)})`,
  );
  console.log(`write units / task  ${t.wruPerTask.toFixed(4)}`);
  console.log(`read units / task   ${t.rruPerTask.toFixed(4)}`);
  console.log(`$ per million tasks ${t.dollarsPerMillionTasks.toFixed(4)}`);
  console.log(`max writes per key  ${t.maxWritesPerKey} (${t.hottestKey})`);
  console.log(
    JSON.stringify({
      tasks,
      chunkTasks: chunk,
      tasksPerSecond: Math.round(tasks / seconds),
      callsPerTask: Number(t.callsPerTask.toFixed(5)),
      observedCallsPerTask: Number(t.observedCallsPerTask.toFixed(5)),
      wruPerTask: Number(t.wruPerTask.toFixed(5)),
      rruPerTask: Number(t.rruPerTask.toFixed(5)),
      dollarsPerMillionTasks: Number(t.dollarsPerMillionTasks.toFixed(5)),
      maxWritesPerKey: t.maxWritesPerKey,
      hottestKey: t.hottestKey,
      peakRssMb: Math.round(process.memoryUsage().rss / 1024 / 1024),
    }),
  );
} finally {
  destroyAwsClients(clients);
  await Promise.all([dynamo.stop(), fauxqs.stop()]);
}
