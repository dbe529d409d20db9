/**
 * `npm run bench:fleet [-- --sessions N --tasks N --gap S --agents N --seed N]`: the fleet
 * simulation (src/testing/fleet-sim.ts) on a bursty workload — by default 3 sessions of 10k
 * tasks of 1–30 s arriving 15 minutes apart, on a pool of up to 100 agents of 4 tasks each,
 * with scarce spot, interruptions, slow launches and throttling. The last line is JSON.
 */
import { checkNodeVersion } from "../../../scripts/check-node.ts";
import { burstyFleetSim, simulateFleet } from "../src/testing/fleet-sim.ts";
import { numberFlags } from "./args.ts";

checkNodeVersion();
const flags = numberFlags({ sessions: 3, tasks: 10_000, gap: 900, agents: 100, seed: 1 });
const options = burstyFleetSim(flags.seed, {
  sessions: flags.sessions,
  tasks: flags.tasks,
  gapMs: flags.gap * 1_000,
  maxAgents: flags.agents,
});
const started = performance.now();
const r = await simulateFleet(options);
const wallSeconds = (performance.now() - started) / 1_000;
const p = options.policy;
console.log(
  `${r.tasks} tasks in ${flags.sessions} session(s) ${flags.gap} s apart; pool of ≤ ${p.maxAgents} agents × ${p.concurrency} tasks; ` +
    `step ${p.step} or ×${1 + p.growth} every ${p.stepIntervalMs / 1_000} s, idle ${p.idleMs / 1_000} s, ${p.warmAgents} kept warm`,
);
console.log(
  `first launch after ${r.secondsToFirstLaunch} s, first agent taking work after ${r.secondsToFirstAgent} s; peak ${r.peakAgents} agents`,
);
console.log(
  `agent-seconds ${r.agentSeconds} vs ideal ${r.idealAgentSeconds} (×${r.agentSecondsRatio}): boot ${r.bootAgentSeconds}, idle ${r.idleAgentSeconds} (longest ${r.maxIdleSeconds} s)`,
);
console.log(
  `sessions took ${r.sessionSeconds.join(" s, ")} s; zero ${r.secondsToZero} s after the last task; ${r.simSeconds} s simulated in ${wallSeconds.toFixed(2)} s`,
);
console.log(
  `${r.instances} instances (${r.spotInstances} spot) from ${r.poolsUsed.length} capacity pools; ${r.capacityErrors} capacity errors, ` +
    `${r.throttledRequests} throttled requests, ${r.interruptions} spot interruptions (${r.tasksReleased} tasks released); fleet $${r.fleetDollars} (the fleet status counted $${r.statusDollars})`,
);
if (r.completed !== r.tasks || !r.drained) {
  console.error(`✗ ${r.completed}/${r.tasks} tasks finished; fleet drained: ${r.drained}`);
  process.exitCode = 1;
}
console.log(
  JSON.stringify({
    tasks: r.tasks,
    completedTasks: r.completed,
    secondsToFirstLaunch: r.secondsToFirstLaunch,
    secondsToFirstAgent: r.secondsToFirstAgent,
    peakAgents: r.peakAgents,
    agentSeconds: r.agentSeconds,
    idealAgentSeconds: r.idealAgentSeconds,
    agentSecondsRatio: r.agentSecondsRatio,
    idleAgentSeconds: r.idleAgentSeconds,
    maxIdleSeconds: r.maxIdleSeconds,
    bootAgentSeconds: r.bootAgentSeconds,
    secondsToZero: r.secondsToZero,
    sessionSeconds: r.sessionSeconds,
    instances: r.instances,
    spotInstances: r.spotInstances,
    capacityErrors: r.capacityErrors,
    interruptions: r.interruptions,
    tasksReleased: r.tasksReleased,
    fleetDollars: r.fleetDollars,
    // What the fleet status (GET /fleet, the dashboard) counted of that bill from the passes.
    statusAgentSeconds: r.statusAgentSeconds,
    statusDollars: r.statusDollars,
    wallSeconds: Number(wallSeconds.toFixed(2)),
  }),
);
