import { describe, expect, it } from "vitest";
import { burstyFleetSim, type FleetSimOptions, simulateFleet } from "./fleet-sim.ts";

/** A small, harsh run: scarce spot, frequent interruptions, slow launches, throttling, long tasks. */
function harsh(seed: number): FleetSimOptions {
  const o = burstyFleetSim(seed, { sessions: 3, tasks: 400, gapMs: 600_000, maxAgents: 12 });
  o.sessions[2] = { ...o.sessions[2]!, minMs: 60_000, maxMs: 240_000 }; // longer than a spot notice
  return { ...o, spotInterruptionsPerHour: 3, throttleRate: 0.15 };
}

describe("fleet simulation", () => {
  const seeds = [1, 2, 3, 4, 5, 6];
  it(`finishes every task, idles no agent past the idle period and reaches zero (seeds ${seeds.join(",")})`, async () => {
    let interrupted = 0;
    let released = 0;
    let throttled = 0;
    for (const seed of seeds) {
      const o = harsh(seed);
      const r = await simulateFleet(o);
      const where = `seed ${seed}`;
      expect(r.completed, where).toBe(r.tasks);
      expect(r.completedTwice, where).toBe(0);
      expect(r.drained, where).toBe(true); // every instance terminated at the end
      expect(r.peakAgents, where).toBeLessThanOrEqual(o.policy.maxAgents);
      // Idle stretches end within the idle period plus one scaler pass (and a sim step).
      expect(r.maxIdleSeconds, where).toBeLessThanOrEqual((o.policy.idleMs + 10_000 + 250) / 1_000);
      // Capacity errors happened, were not retried within their cooling, and other pools served.
      expect(r.capacityErrors, where).toBeGreaterThan(0);
      expect(r.retriedTooSoon, where).toBe(0);
      expect(new Set(r.poolsUsed.map((p) => p.split("|")[1])).size, where).toBeGreaterThanOrEqual(2);
      expect(r.poolsUsed.length, where).toBeGreaterThanOrEqual(3);
      // Never spins: at most two provider requests (spot, then on-demand) per scaler pass.
      expect(r.requests.length, where).toBeLessThanOrEqual(2 * r.passes);
      interrupted += r.interruptions;
      released += r.tasksReleased;
      throttled += r.throttledRequests;
    }
    // The faults did happen across the seeds (otherwise the run proved little).
    expect(interrupted).toBeGreaterThan(0);
    expect(released).toBeGreaterThan(0);
    expect(throttled).toBeGreaterThan(0);
  });

  it("counts in the fleet status the agent time the fake cloud bills, less at most a pass and a second per instance", async () => {
    for (const seed of [1, 2, 3]) {
      const o = harsh(seed);
      const r = await simulateFleet(o);
      const where = `seed ${seed}`;
      // Never more than the bill (per-second rounding up, a 60 s minimum, the tail after the
      // last pass that saw an agent are what it leaves out), and never much less.
      expect(r.statusAgentSeconds, where).toBeLessThanOrEqual(r.agentSeconds);
      expect(r.agentSeconds - r.statusAgentSeconds, where).toBeLessThanOrEqual(
        r.instances * ((o.tickMs ?? 10_000) / 1_000 + 1),
      );
      expect(r.statusAgentSeconds, where).toBeGreaterThan(0.9 * r.agentSeconds);
      expect(r.statusDollars, where).toBeLessThanOrEqual(r.fleetDollars);
      expect(r.statusDollars, where).toBeGreaterThan(0.9 * r.fleetDollars);
    }
  });

  it("is the same for a seed", async () => {
    const { requests: _a, ...a } = await simulateFleet(harsh(9));
    const { requests: _b, ...b } = await simulateFleet(harsh(9));
    expect(a).toEqual(b);
  });

  it("falls back to on-demand when spot runs out, and uses only on-demand when spot is off", async () => {
    // One zone with one spot instance per type: 6 spot, 12 wanted.
    const scarce = {
      ...harsh(3),
      zones: ["us-east-1a"],
      capacity: { default: { spot: 1, "on-demand": 12 } },
    };
    const spot = await simulateFleet(scarce);
    expect(spot.poolsUsed.some((p) => p.startsWith("on-demand|"))).toBe(true);
    expect(spot.spotInstances).toBeGreaterThan(0);
    const onDemand = await simulateFleet({ ...harsh(3), spot: false });
    expect(onDemand.spotInstances).toBe(0);
    expect(onDemand.completed).toBe(onDemand.tasks);
  });
});
