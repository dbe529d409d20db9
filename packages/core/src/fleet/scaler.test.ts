import { describe, expect, it } from "vitest";
import {
  type Backlog,
  DEFAULT_FLEET_POLICY,
  decideFleet,
  type FleetAgent,
  type FleetPolicy,
  paidUntil,
  targetAgents,
} from "./scaler.ts";

const policy: FleetPolicy = { ...DEFAULT_FLEET_POLICY, maxAgents: 10, concurrency: 4 };
const hourly: FleetPolicy = {
  ...policy,
  minimumBilledMs: 3_600_000,
  billingIncrementMs: 3_600_000,
  stopLeadMs: 120_000,
};
const S = 1_000;
const backlog = (b: Partial<Backlog>): Backlog => ({ queued: 0, inFlight: 0, oldestAgeMs: 0, ...b });
const agent = (id: string, a: Partial<FleetAgent> = {}): FleetAgent => ({
  id,
  state: "running",
  launchedAt: 0,
  busy: 0,
  ...a,
});

describe("fleet decision", () => {
  it("starts one agent as soon as there is a backlog, even before durations are known", () => {
    const d = decideFleet(policy, backlog({ queued: 1, oldestAgeMs: 5 }), [], 1_000);
    expect(d).toMatchObject({ launch: 1, stop: [], target: 1 });
  });

  it("grows in steps of at most `step`, no sooner than the step interval", () => {
    const work = backlog({ queued: 400 });
    const first = decideFleet(policy, work, [], 0);
    expect(first.launch).toBe(2);
    expect(first.target).toBe(10);
    const launched = [agent("a", { state: "launching" }), agent("b", { state: "launching" })];
    expect(decideFleet(policy, work, launched, 5 * S, 0).launch).toBe(0);
    expect(decideFleet(policy, work, launched, 20 * S, 0).launch).toBe(2);
  });

  it("grows by up to `growth` × the live agents when that is more than `step`", () => {
    const work = backlog({ queued: 10_000 });
    const six = Array.from({ length: 6 }, (_, i) => agent(`a${i}`, { busy: 4 }));
    const big = { ...policy, maxAgents: 100 };
    expect(decideFleet(big, work, six, 100 * S, 0).launch).toBe(6); // doubles
    expect(decideFleet({ ...big, growth: 0.5 }, work, six, 100 * S, 0).launch).toBe(3);
    expect(decideFleet({ ...big, growth: 0 }, work, six, 100 * S, 0).launch).toBe(2); // fixed steps
  });

  it("does not launch again while launches just made may not be listed yet", () => {
    // 5 s after launching 2, the provider lists none of them: no second batch yet.
    expect(decideFleet(policy, backlog({ queued: 40 }), [], 25 * S, 20 * S).launch).toBe(0);
    expect(decideFleet(policy, backlog({ queued: 40 }), [], 40 * S, 20 * S).launch).toBe(2);
  });

  it("never goes above the pool's maximum", () => {
    const nine = Array.from({ length: 9 }, (_, i) => agent(`a${i}`, { busy: 4 }));
    const d = decideFleet(
      { ...policy, step: 5 },
      backlog({ queued: 10_000, inFlight: 36 }),
      nine,
      100 * S,
      0,
    );
    expect(d.launch).toBe(1);
    const ten = [...nine, agent("a9", { busy: 4 })];
    expect(decideFleet(policy, backlog({ queued: 10_000, inFlight: 40 }), ten, 200 * S, 0).launch).toBe(0);
  });

  it("does not add agents for short tasks the running agents clear before a new one boots", () => {
    const two = [agent("a", { busy: 4 }), agent("b", { busy: 4 })];
    // 40 queued × 100 ms over 8 slots: cleared in 0.5 s, far under a 90 s boot.
    expect(targetAgents(policy, backlog({ queued: 40, inFlight: 8, meanTaskMs: 100 }), 2)).toBe(2);
    expect(decideFleet(policy, backlog({ queued: 40, inFlight: 8, meanTaskMs: 100 }), two, 0).launch).toBe(0);
    // The same count of 60 s tasks takes 5 minutes: grow.
    expect(decideFleet(policy, backlog({ queued: 40, inFlight: 8, meanTaskMs: 60_000 }), two, 0).launch).toBe(
      2,
    );
  });

  it("stops only idle agents, and only those the work does not need", () => {
    const agents = [
      agent("busy", { busy: 3, launchedAt: 0 }),
      agent("idle", { busy: 0, launchedAt: 0, idleSince: 0 }),
      agent("idle2", { busy: 0, launchedAt: 0, idleSince: 0 }),
    ];
    // Work for one agent only: both idle ones are surplus, idle past idleMs, paid minimum over.
    const d = decideFleet(policy, backlog({ inFlight: 3, lastWorkAt: 500 * S }), agents, 500 * S);
    expect(d.target).toBe(1);
    expect(d.stop.sort()).toEqual(["idle", "idle2"]);
    // Work for two: one idle agent stays.
    const e = decideFleet(policy, backlog({ queued: 2, inFlight: 3, lastWorkAt: 500 * S }), agents, 500 * S);
    expect(e.stop).toHaveLength(1);
    // A busy agent is never stopped, even with no work in sight.
    expect(decideFleet(policy, backlog({}), [agent("busy", { busy: 1 })], 10_000 * S).stop).toEqual([]);
    // Nor one already stopping, nor one still launching.
    const others = [
      agent("s", { state: "stopping" }),
      agent("l", { state: "launching", launchedAt: 9_990 * S }),
    ];
    expect(decideFleet(policy, backlog({}), others, 10_000 * S).stop).toEqual([]);
  });

  it("keeps only `warmAgents` idle agents for the idle period at a session's tail", () => {
    // One agent still busy with the last task; five idle for 30 s, launched long ago.
    const agents = [
      agent("busy", { busy: 1 }),
      ...Array.from({ length: 5 }, (_, i) => agent(`idle${i}`, { idleSince: 970 * S })),
    ];
    const d = decideFleet(policy, backlog({ inFlight: 1, lastWorkAt: 1_000 * S }), agents, 1_000 * S);
    expect(d.target).toBe(1);
    expect(d.stop).toHaveLength(3); // 1 needed + 2 warm stay
    // Idle for less than a growth step: all stay (no thrash when the queue blinks empty).
    const blink = agents.map((a) => (a.busy ? a : { ...a, idleSince: 990 * S }));
    expect(
      decideFleet(policy, backlog({ inFlight: 1, lastWorkAt: 1_000 * S }), blink, 1_000 * S).stop,
    ).toEqual([]);
  });

  it("keeps a just-idle agent until its paid minimum, then stops it once the pool is idle", () => {
    const fresh = [agent("a", { launchedAt: 0, idleSince: 20 * S })];
    const quiet = (now: number) => decideFleet(policy, backlog({ lastWorkAt: 20 * S }), fresh, now);
    expect(quiet(30 * S).stop).toEqual([]); // 30 s after launch: inside the 60 s minimum
    expect(quiet(100 * S).stop).toEqual([]); // minimum paid, but the pool has had work 80 s ago (< idleMs)
    expect(quiet(140 * S).stop).toEqual(["a"]); // idle for 120 s: zero
  });

  it("keeps an hourly-billed idle agent to near the end of its paid hour", () => {
    const a = [agent("lic", { launchedAt: 0, idleSince: 600 * S })];
    const at = (now: number) => decideFleet(hourly, backlog({ lastWorkAt: 600 * S }), a, now).stop;
    expect(at(1_800 * S)).toEqual([]); // idle 20 min, but 30 min of the hour are paid
    expect(at(3_470 * S)).toEqual([]); // 130 s left
    expect(at(3_480 * S)).toEqual(["lic"]); // within the 2-minute lead: drain and stop
    // In its second hour the same holds.
    expect(at(5_000 * S)).toEqual([]);
    expect(at(7_100 * S)).toEqual(["lic"]);
  });

  it("stops the idle agents whose paid time ends soonest first", () => {
    const agents = [
      agent("late", { launchedAt: 1_000 * S, idleSince: 3_000 * S }),
      agent("early", { launchedAt: 0, idleSince: 3_000 * S }),
    ];
    const d = decideFleet(hourly, backlog({ queued: 1, lastWorkAt: 3_500 * S }), agents, 3_500 * S);
    expect(d.target).toBe(1);
    expect(d.stop).toEqual(["early"]);
  });

  it("computes paid time from the minimum and the billing increment", () => {
    expect(paidUntil(policy, 0, 10 * S)).toBe(60 * S);
    expect(paidUntil(policy, 0, 60.5 * S)).toBe(61 * S);
    expect(paidUntil(hourly, 0, 3_601 * S)).toBe(7_200 * S);
  });

  it("stops an agent that never came up, and replaces it when there is work", () => {
    const agents = [
      agent("stuck", { state: "launching", launchedAt: 0 }),
      agent("ok", { busy: 4, launchedAt: 0 }),
    ];
    const d = decideFleet(policy, backlog({ queued: 4, inFlight: 4 }), agents, 900 * S, 0);
    expect(d.stop).toEqual(["stuck"]);
    expect(d.launch).toBe(1);
    expect(d.reason).toContain("1 that never came up");
    // Nor one that began to drain 15 minutes ago and is still there (its instance did not stop).
    const lingering = [agent("gone", { state: "stopping", drainingSince: 0 })];
    expect(decideFleet(policy, backlog({}), lingering, 900 * S).stop).toEqual(["gone"]);
    expect(decideFleet(policy, backlog({}), lingering, 800 * S).stop).toEqual([]);
    // Fourteen minutes is still booting.
    expect(decideFleet(policy, backlog({ queued: 4, inFlight: 4 }), agents, 840 * S, 0).stop).toEqual([]);
  });

  it("reaches zero at the end and stays there", () => {
    const d = decideFleet(policy, backlog({ lastWorkAt: 0 }), [], 10_000 * S);
    expect(d).toMatchObject({ launch: 0, stop: [], target: 0 });
  });
});
