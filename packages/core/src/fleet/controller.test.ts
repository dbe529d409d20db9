import { describe, expect, it } from "vitest";
import { FakeClock } from "../adapters/memory/clocks.ts";
import { describePass, FleetController, type PoolPass } from "./controller.ts";
import type { BacklogPort, FleetPort, LaunchReport } from "./ports.ts";
import { type Backlog, DEFAULT_FLEET_POLICY, type FleetAgent } from "./scaler.ts";

const policy = { ...DEFAULT_FLEET_POLICY, maxAgents: 10, concurrency: 4 };

/** A fleet whose launches follow a script; it records launches and stops. */
function fleetOf(agents: FleetAgent[], launch: (n: number) => LaunchReport) {
  const calls = { launch: [] as number[], stop: [] as string[][] };
  const fleet: FleetPort = {
    list: async () => agents,
    launch: async (_pool, n) => {
      calls.launch.push(n);
      return launch(n);
    },
    stop: async (_pool, ids) => {
      calls.stop.push([...ids]);
    },
  };
  return { fleet, calls };
}
const backlogOf = (b: Partial<Backlog>): BacklogPort => ({
  backlog: async () => ({ queued: 0, inFlight: 0, oldestAgeMs: 0, ...b }),
});
const noCapacity = (): LaunchReport => ({
  launched: [],
  errors: [{ code: "InsufficientInstanceCapacity", message: "none", retryable: true }],
});

describe("fleet controller", () => {
  it("backs off after a launch falls short, reports it, and tries again later", async () => {
    const clock = new FakeClock(0);
    const { fleet, calls } = fleetOf([], noCapacity);
    const passes: string[] = [];
    const c = new FleetController({
      fleet,
      backlog: backlogOf({ queued: 8 }),
      policies: { default: policy },
      clock,
      random: () => 0.5,
      onPass: (p) => passes.push(describePass(p)),
    });
    const [first] = await c.tick();
    expect(first!.errors[0]!.code).toBe("InsufficientInstanceCapacity");
    expect(first!.retryAt).toBe(11_250); // 15 s ceiling: half, plus half of it jittered by 0.5
    expect(passes[0]).toContain("short by 2 (InsufficientInstanceCapacity)");
    clock.advance(10_000);
    await c.tick();
    expect(calls.launch).toEqual([2]); // held back: no call
    clock.advance(2_000);
    const [third] = await c.tick();
    expect(calls.launch).toEqual([2, 2]);
    expect(third!.retryAt).toBe(12_000 + 22_500); // doubled: 30 s ceiling
  });

  it("counts agents it launched as launching until the provider lists them, and sizes by their slots", async () => {
    const clock = new FakeClock(0);
    const listed: FleetAgent[] = [];
    let batch = 0;
    const { fleet, calls } = fleetOf(listed, (n) => {
      batch++;
      return { launched: Array.from({ length: n }, (_, i) => `i${batch}-${i}`), errors: [] };
    });
    const c = new FleetController({
      fleet,
      backlog: backlogOf({ queued: 8 }),
      policies: { default: { ...policy, step: 1, growth: 0 } },
      clock,
    });
    const [first] = await c.tick();
    expect(first!.launched).toEqual(["i1-0"]);
    clock.advance(30_000); // the list still lags: the launched one counts, so one more (target 2)
    const [second] = await c.tick();
    expect(second!.agents).toBe(1);
    expect(second!.launched).toEqual(["i2-0"]);
    expect(calls.launch).toEqual([1, 1]);
    // Listed at last, saying they run 8 tasks at once: 8 queued need one agent, not two.
    listed.push({ id: "i1-0", state: "running", launchedAt: 0, busy: 0, slots: 8 });
    listed.push({ id: "i2-0", state: "running", launchedAt: 30_000, busy: 0, slots: 8 });
    clock.advance(30_000);
    const [third] = await c.tick();
    expect(third!.agents).toBe(2);
    expect(third!.decision.target).toBe(1);
  });

  it("does not crash when reading the pool fails; the next pass works", async () => {
    const clock = new FakeClock(0);
    let broken = true;
    const { fleet, calls } = fleetOf([], (n) => ({
      launched: Array.from({ length: n }, (_, i) => `i${i}`),
      errors: [],
    }));
    const c = new FleetController({
      fleet,
      backlog: {
        backlog: async () => {
          if (broken) throw new Error("queue unreachable");
          return { queued: 3, inFlight: 0, oldestAgeMs: 0 };
        },
      },
      policies: { default: policy },
      clock,
    });
    const [failed] = await c.tick();
    expect(failed!.failed).toContain("queue unreachable");
    expect(describePass(failed!)).toBe("default: reading the pool failed: queue unreachable");
    broken = false;
    const [ok] = await c.tick();
    expect(ok!.launched).toEqual(["i0"]);
    expect(calls.launch).toEqual([1]);
  });

  it("rebuilds its memory from the agents when it starts fresh (a new Lambda container)", async () => {
    const clock = new FakeClock(100_000);
    // Launched 5 s ago by a previous container: the next step waits for the step interval.
    const agents: FleetAgent[] = [
      { id: "a", state: "launching", launchedAt: 95_000, busy: 0 },
      { id: "b", state: "launching", launchedAt: 95_000, busy: 0 },
    ];
    const { fleet, calls } = fleetOf(agents, noCapacity);
    const c = new FleetController({
      fleet,
      backlog: backlogOf({ queued: 100 }),
      policies: { default: policy },
      clock,
    });
    await c.tick();
    expect(calls.launch).toEqual([]);
    clock.advance(15_000);
    await c.tick();
    expect(calls.launch).toEqual([2]);
  });

  it("passes at once when woken instead of waiting out its interval", async () => {
    const clock = new FakeClock(0);
    const { fleet } = fleetOf([], noCapacity);
    let passes = 0;
    const c = new FleetController({
      fleet,
      backlog: backlogOf({}),
      policies: { default: policy },
      clock,
      onPass: () => passes++,
    });
    const stop = new AbortController();
    const run = c.run({ everyMs: 60_000, signal: stop.signal });
    const settle = () => new Promise((r) => setImmediate(r));
    await settle();
    expect(passes).toBe(1);
    c.wake(); // no time passes on the clock
    await settle();
    await settle();
    expect(passes).toBe(2);
    stop.abort();
    await run;
    expect(passes).toBe(2);
  });

  it("stops idle agents and runs until the grid is idle", async () => {
    const clock = new FakeClock(1_000_000);
    const agents: FleetAgent[] = [{ id: "old", state: "running", launchedAt: 0, busy: 0, idleSince: 0 }];
    const { fleet, calls } = fleetOf(agents, noCapacity);
    fleet.stop = async (_pool, ids) => {
      calls.stop.push([...ids]);
      agents.splice(0);
    };
    const c = new FleetController({ fleet, backlog: backlogOf({}), policies: { default: policy }, clock });
    const run = c.run({ everyMs: 10_000, untilIdle: true });
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setImmediate(r));
      clock.advance(10_000);
    }
    const passes = await run;
    expect(calls.stop).toEqual([["old"]]);
    expect(passes).toHaveLength(2); // the stop, then a pass with nothing left
  });
});

/**
 * A fleet whose agents come up `bootMs` after launch while `boots()` says so at their launch,
 * and otherwise stay launching for ever (a broken image); stopped agents are gone.
 */
function bootingFleet(clock: FakeClock, boots: () => boolean, bootMs = 90_000) {
  const agents = new Map<string, { launchedAt: number; up: boolean }>();
  const launches: number[] = [];
  const fleet: FleetPort = {
    list: async () =>
      [...agents].map(([id, a]) => ({
        id,
        state: a.up && clock.now() - a.launchedAt >= bootMs ? ("running" as const) : ("launching" as const),
        launchedAt: a.launchedAt,
        busy: 0,
      })),
    launch: async (_pool, n) => {
      const launched: string[] = [];
      for (let i = 0; i < n; i++) {
        const id = `i${launches.push(clock.now())}`;
        agents.set(id, { launchedAt: clock.now(), up: boots() });
        launched.push(id);
      }
      return { launched, errors: [] };
    },
    stop: async (_pool, ids) => {
      for (const id of ids) agents.delete(id);
    },
  };
  const running = () =>
    [...agents.values()].filter((a) => a.up && clock.now() - a.launchedAt >= bootMs).length;
  return { fleet, launches, running };
}

/** Passes every 10 s for `ms` of fake time; returns the last pass. */
async function passFor(c: FleetController, clock: FakeClock, ms: number) {
  let last: PoolPass | undefined;
  for (const end = clock.now() + ms; clock.now() < end; clock.advance(10_000)) [last] = await c.tick();
  return last!;
}

describe("fleet controller: agents that never come up (failed boots)", () => {
  const HOUR = 3_600_000;

  it("holds a pool whose agents never come up: a bounded number of instances over 12 hours, with the reason", async () => {
    const clock = new FakeClock(0);
    const { fleet, launches } = bootingFleet(clock, () => false);
    const described: string[] = [];
    const c = new FleetController({
      fleet,
      backlog: backlogOf({ queued: 40 }),
      policies: { gpu: policy },
      clock,
      onPass: (p) => p.failedBoots && described.push(describePass(p)),
    });
    const last = await passFor(c, clock, 12 * HOUR);
    // Relaunching at once would start about 10 agents every 15 min (~480 in 12 h). The first
    // batch grows to maxAgents before any could time out; then holds of 15, 30, 60, 60… min,
    // each ended by one probe agent.
    expect(launches.length).toBeLessThanOrEqual(policy.maxAgents + 10);
    expect(launches.filter((t) => t >= HOUR).length).toBeLessThanOrEqual(9); // single probes
    expect(launches.filter((t) => t >= 6 * HOUR).length).toBeLessThanOrEqual(5);
    expect(last.failedBoots).toMatchObject({ withinMs: 900_000 });
    expect(last.failedBoots!.agents).toBeGreaterThanOrEqual(policy.maxAgents);
    expect(described[0]).toBe(
      "gpu: 40 queued, 0 running, 10 agent(s), target 10; stopping 2; 2 agent(s) in a row never came up within 15 min " +
        "(boot failure?); launches held until 1970-01-01T00:30:00.000Z; " +
        "see /var/log/tessera-agent-setup.log on an instance, or its console output",
    );
    expect(described).toContain(
      "gpu: 40 queued, 0 running, 0 agent(s), target 10; launched 1; 10 agent(s) in a row never came up within 15 min " +
        "(boot failure?); launching 1 agent to probe until one comes up; " +
        "see /var/log/tessera-agent-setup.log on an instance, or its console output",
    );
  });

  it("leaves a pool whose agents come up alone", async () => {
    const clock = new FakeClock(0);
    const { fleet, launches, running } = bootingFleet(clock, () => true);
    const passes: PoolPass[] = [];
    const c = new FleetController({
      fleet,
      backlog: backlogOf({ queued: 40 }),
      policies: { gpu: policy },
      clock,
      onPass: (p) => passes.push(p),
    });
    await passFor(c, clock, 12 * HOUR);
    expect(launches).toHaveLength(10);
    expect(launches.every((t) => t < 120_000)).toBe(true); // all ten within the first two minutes
    expect(running()).toBe(10);
    expect(passes.some((p) => p.failedBoots !== undefined)).toBe(false);
  });

  it("grows again as soon as a probe comes up (the image was fixed)", async () => {
    const clock = new FakeClock(0);
    let fixed = false;
    const { fleet, launches, running } = bootingFleet(clock, () => fixed);
    const c = new FleetController({
      fleet,
      backlog: backlogOf({ queued: 40 }),
      policies: { gpu: policy },
      clock,
    });
    await passFor(c, clock, 2 * HOUR);
    fixed = true;
    const before = launches.length;
    // Holds so far: 15 min from 0:15, 30 from 0:45, 60 from 1:30: the next probe at 2:30.
    await passFor(c, clock, 30 * 60_000 + 90_000);
    expect(launches.length).toBe(before + 1); // the probe, up by now
    const last = await passFor(c, clock, 3 * 60_000);
    expect(last.failedBoots).toBeUndefined();
    expect(running()).toBe(10);
  });

  it("counts an agent that never came up once, even when stopping it fails and is retried", async () => {
    const clock = new FakeClock(1_000_000);
    const agents: FleetAgent[] = [{ id: "stuck", state: "launching", launchedAt: 0, busy: 0 }];
    const { fleet, calls } = fleetOf(agents, (n) => ({
      launched: Array.from({ length: n }, (_, i) => `new${i}`),
      errors: [],
    }));
    let refuse = true;
    fleet.stop = async (_pool, ids) => {
      calls.stop.push([...ids]);
      if (refuse) throw new Error("throttled");
    };
    const c = new FleetController({
      fleet,
      backlog: backlogOf({ queued: 4 }),
      policies: { gpu: policy },
      clock,
    });
    await c.tick();
    refuse = false;
    clock.advance(30_000);
    const [second] = await c.tick();
    expect(calls.stop).toEqual([["stuck"], ["stuck"]]);
    expect(second!.failedBoots).toBeUndefined(); // one failed boot, not two
    expect(c.failedBoots().gpu).toMatchObject({ failures: 1, holds: 0 });
  });

  it("keeps a hold across controllers (a new Lambda container) when given the old one's record", async () => {
    const clock = new FakeClock(0);
    const { fleet, launches } = bootingFleet(clock, () => false);
    const options = { fleet, backlog: backlogOf({ queued: 40 }), policies: { gpu: policy }, clock };
    const first = new FleetController(options);
    await passFor(first, clock, 20 * 60_000); // held since 0:15, until 0:30
    const before = launches.length;
    const next = new FleetController(options);
    next.restoreFailedBoots(first.failedBoots());
    const [pass] = await next.tick();
    expect(pass!.failedBoots?.heldUntil).toBe(30 * 60_000);
    expect(launches.length).toBe(before);
    const forgetful = new FleetController(options);
    await forgetful.tick();
    expect(launches.length).toBeGreaterThan(before); // what a fresh container did without it
  });
});
