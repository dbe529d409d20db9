/**
 * `npm run chaos -- --tasks N --agents N --killEveryMs N --leaseMs N`: agents SIGKILLed at random
 * while N short tasks run (see test/chaos-run.ts), on DynamoDB Local and fauxqs started here.
 * Prints what the grid's promises need (nothing lost or delivered twice, no task failed that did
 * not run maxAttempts times) and the time from a kill to the re-run of the tasks it cut short;
 * exits 1 if a promise broke. The last line is JSON.
 */

import { startDynamoDbLocal, startFauxqsEmulator } from "@tessera/core/emulators";
import { checkNodeVersion } from "../../../scripts/check-node.ts";
import { numberFlags } from "../../core/bench/args.ts";
import { runChaos } from "../test/chaos-run.ts";

checkNodeVersion();
const flags = numberFlags({
  tasks: 20_000,
  agents: 4,
  concurrency: 4,
  killEveryMs: 3_000,
  leaseMs: 10_000,
  minTaskMs: 5,
  maxTaskMs: 50,
  capSeconds: 900,
});
const dynamo = await startDynamoDbLocal().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
const fauxqs = await startFauxqsEmulator();
try {
  const report = await runChaos({
    endpoints: { dynamoEndpoint: dynamo.endpoint, queueEndpoint: fauxqs.endpoint },
    tasks: flags.tasks,
    agents: flags.agents,
    concurrency: flags.concurrency,
    killEveryMs: flags.killEveryMs,
    taskMs: [flags.minTaskMs, flags.maxTaskMs],
    leaseMs: flags.leaseMs,
    maxAttempts: 3,
    chunkMaxTasks: 64,
    reapEveryMs: 10_000,
    capMs: flags.capSeconds * 1000,
  });
  const ok =
    report.settled && report.lost === 0 && report.deliveredTwice === 0 && report.failedWithoutMaxRuns === 0;
  console.log(
    `${report.tasks} tasks on ${flags.agents} agents, one SIGKILLed every ${flags.killEveryMs} ms (${report.kills} kills) in ${report.seconds.toFixed(1)} s`,
  );
  console.log(
    `  ${report.succeeded} succeeded, ${report.failed} failed (${report.failedWithoutMaxRuns} without maxAttempts runs), ${report.lost} lost, ${report.deliveredTwice} delivered twice; ${report.runs} runs`,
  );
  console.log(
    `  kill → re-run of the ${report.interrupted} runs cut short: p50 ${report.killToRerunMs.p50} ms, p90 ${report.killToRerunMs.p90} ms, max ${report.killToRerunMs.max} ms (lease ${flags.leaseMs} ms)`,
  );
  const { unfinished: _unfinished, ...figures } = report;
  console.log(JSON.stringify({ ...figures, leaseMs: flags.leaseMs, ok }));
  if (!ok) process.exitCode = 1;
} finally {
  await fauxqs.stop();
  await dynamo.stop();
}
