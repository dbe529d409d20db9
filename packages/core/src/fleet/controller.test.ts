import { describe, expect, it } from "vitest";
import { FakeClock } from "../adapters/memory/clocks.ts";
import { describePass, FleetController } from "./controller.ts";
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
