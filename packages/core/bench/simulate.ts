/**
 * `npm run sim -- --seeds N [--from S]`: N seeded fault-injection simulations of the dispatch
 * engine (see src/testing/simulation.ts). Prints each failing seed; the last line is JSON.
 */
import { checkNodeVersion } from "../../../scripts/check-node.ts";
import { simulate } from "../src/testing/simulation.ts";
import { numberFlags } from "./args.ts";

checkNodeVersion();
const { seeds, from } = numberFlags({ seeds: 1000, from: 1 });
const started = performance.now();
const totals = {
  tasks: 0,
  starts: 0,
  crashes: 0,
  cancels: 0,
  stalls: 0,
  throttlings: 0,
  throttledCalls: 0,
  unknownCharges: 0,
  ticketLoss: 0,
  ticketDuplicate: 0,
  storeError: 0,
  storeLostAck: 0,
  conflicts: 0,
  skewedWorkers: 0,
  refusedAtClose: 0,
};
const failing: number[] = [];
for (let seed = from; seed < from + seeds; seed++) {
  const r = await simulate(seed);
  totals.tasks += r.tasks;
  totals.starts += r.starts;
  totals.crashes += r.crashes;
  totals.cancels += r.cancels;
  totals.stalls += r.stalls;
  totals.throttlings += r.throttlings;
  totals.throttledCalls += r.throttledCalls;
  totals.unknownCharges += r.unknownCharges;
  totals.ticketLoss += r.faults.ticketLoss;
  totals.ticketDuplicate += r.faults.ticketDuplicate;
  totals.storeError += r.faults.storeError;
  totals.storeLostAck += r.faults.storeLostAck;
  totals.conflicts += r.conflicts;
  totals.skewedWorkers += r.skewedWorkers;
  totals.refusedAtClose += r.refusedAtClose;
  if (r.violations.length > 0) {
    failing.push(seed);
    console.log(`✗ seed ${seed}: ${r.violations.slice(0, 5).join("; ")}`);
  }
  if ((seed - from + 1) % 500 === 0)
    console.log(`… ${seed - from + 1}/${seeds} runs, ${failing.length} failing`);
}
const seconds = (performance.now() - started) / 1000;
console.log(
  `${seeds} runs (seeds ${from}..${from + seeds - 1}) in ${seconds.toFixed(1)} s: ${failing.length} failing`,
);
console.log(
  `injected: ${totals.crashes} worker crashes, ${totals.ticketLoss} lost and ${totals.ticketDuplicate} duplicated tickets, ${totals.storeError} store errors, ${totals.storeLostAck} lost write acks, ${totals.cancels} cancels, ${totals.stalls} worker CPU stalls, ${totals.throttlings} throttling episodes (${totals.throttledCalls} store calls refused), ${totals.conflicts} submits refused as other work, ${totals.skewedWorkers} workers with skewed clocks (up to ±60 s), ${totals.refusedAtClose} tasks kept out by a close they raced`,
);
console.log(
  `charges of careful claims whose dying worker never learned they landed (exempt from the attempt check): ${totals.unknownCharges}`,
);
console.log(
  JSON.stringify({
    runs: seeds,
    failingRuns: failing.length,
    failingSeeds: failing.slice(0, 20),
    seconds,
    ...totals,
  }),
);
process.exitCode = failing.length > 0 ? 1 : 0;
