import { describe, expect, it } from "vitest";
import { AWS_LIST_PRICES } from "../metering/prices.ts";
import type { PoolPass } from "./controller.ts";
import { FleetStatusBoard, priceFleetUsage, RECENT_ENTRIES, RECENT_MS } from "./fleet-status.ts";

const T0 = 1_700_000_000_000;

function pass(at: number, change: Partial<PoolPass> = {}): PoolPass {
  return {
    pool: "gpu",
    backlog: { queued: 7, inFlight: 2, oldestAgeMs: 0, queuedByPriority: { high: 1, normal: 5, low: 1 } },
    agents: 3,
    decision: { launch: 0, stop: [], target: 3, neverCameUp: [], reason: "" },
    launched: [],
    stopped: [],
    errors: [],
    at,
    agentStates: { launching: 1, busy: 1, idle: 1, draining: 0 },
    ...change,
  };
}

describe("FleetStatusBoard", () => {
  it("shows each pool's queues and agents as its last pass read them", () => {
    const board = new FleetStatusBoard();
    board.record(pass(T0));
    board.record(pass(T0, { pool: "cpu" }));
    expect(board.pools()).toEqual([
      expect.objectContaining({ pool: "cpu" }),
      {
        pool: "gpu",
        at: T0,
        queued: { high: 1, normal: 5, low: 1 },
        agents: { launching: 1, busy: 1, idle: 1, draining: 0 },
        recentLaunches: [],
        shortfalls: [],
      },
    ]);
  });

  it("keeps recent launches and shortfalls newest first, and the last known counts through a failed pass", () => {
    const board = new FleetStatusBoard();
    board.record(pass(T0, { launched: ["a", "b"] }));
    board.record(
      pass(T0 + 1_000, {
        launched: ["c"],
        errors: [
          {
            code: "InsufficientInstanceCapacity",
            message: "no g5",
            retryable: true,
            instanceType: "g5.xlarge",
            zone: "us-east-1a",
          },
        ],
      }),
    );
    board.record({
      ...pass(T0 + 2_000, { failed: "reading the pool failed: throttled" }),
      backlog: { queued: 0, inFlight: 0, oldestAgeMs: 0 },
      agentStates: undefined,
    });
    const [gpu] = board.pools();
    expect(gpu!.recentLaunches).toEqual([
      { at: T0 + 1_000, count: 1 },
      { at: T0, count: 2 },
    ]);
    expect(gpu!.shortfalls).toEqual([
      { at: T0 + 2_000, message: "reading the pool failed: throttled" },
      { at: T0 + 1_000, message: "InsufficientInstanceCapacity: no g5 (g5.xlarge in us-east-1a)" },
    ]);
    expect(gpu!.queued).toEqual({ high: 1, normal: 5, low: 1 });
    expect(gpu!.agents).toEqual({ launching: 1, busy: 1, idle: 1, draining: 0 });
  });

  it("takes up an earlier board's pools, and keeps its recent launches through its own passes", () => {
    const earlier = new FleetStatusBoard();
    earlier.record(pass(T0, { launched: ["a"] }));
    const board = new FleetStatusBoard();
    board.restore(earlier.pools());
    board.record(pass(T0 + 1_000));
    expect(board.pools()[0]!.recentLaunches).toEqual([{ at: T0, count: 1 }]);
    board.restore([{ ...earlier.pools()[0]!, at: 0 }]); // a pool it saw later keeps its own view
    expect(board.pools()[0]!.at).toBe(T0 + 1_000);
  });

  it("takes up a newer view from another container, so agent time counted there is kept", () => {
    const agent = (instanceType: string, since: number) => ({ instanceType, market: "on-demand", since });
    const a = new FleetStatusBoard(); // one warm container
    a.record(pass(T0, { billed: [agent("c7g.xlarge", T0)] }));
    const b = new FleetStatusBoard(); // the other, which ran the next invocation
    b.restore(a.pools());
    b.record(pass(T0 + 60_000, { billed: [agent("c7g.xlarge", T0), agent("m7g.xlarge", T0 + 10_000)] }));
    // The next invocation lands on the first container again: it takes up the lock's newer view.
    a.restore(b.pools());
    a.record(pass(T0 + 120_000, { billed: [agent("c7g.xlarge", T0)] }));
    expect(a.pools()[0]!.usage!.lines).toEqual([
      { instanceType: "c7g.xlarge", market: "on-demand", seconds: 120 },
      { instanceType: "m7g.xlarge", market: "on-demand", seconds: 50 },
    ]);
  });

  it("forgets entries older than an hour and keeps at most ten", () => {
    const board = new FleetStatusBoard();
    for (let i = 0; i < RECENT_ENTRIES + 5; i++) board.record(pass(T0 + i, { launched: ["x"] }));
    expect(board.pools()[0]!.recentLaunches).toHaveLength(RECENT_ENTRIES);
    board.record(pass(T0 + RECENT_MS + 100));
    expect(board.pools()[0]!.recentLaunches).toEqual([]);
  });

  it("counts launches by instance type and market when the provider says", () => {
    const board = new FleetStatusBoard();
    board.record(
      pass(T0, {
        launched: ["a", "b", "c"],
        placed: [
          { id: "a", instanceType: "c7g.xlarge", market: "spot", zone: "z1" },
          { id: "b", instanceType: "m7g.xlarge", market: "on-demand", zone: "z1" },
          { id: "c", instanceType: "c7g.xlarge", market: "spot", zone: "z2" },
        ],
      }),
    );
    expect(board.pools()[0]!.recentLaunches).toEqual([
      {
        at: T0,
        count: 3,
        instanceTypes: [
          { instanceType: "c7g.xlarge", market: "spot", count: 2 },
          { instanceType: "m7g.xlarge", market: "on-demand", count: 1 },
        ],
      },
    ]);
  });

  it("adds up each billed agent's time between passes, per instance type and market, through failed passes and restores", () => {
    const spot = (since: number) => ({ instanceType: "c7g.xlarge", market: "spot", since });
    const board = new FleetStatusBoard();
    // Counting begins with the first pass; an agent already running counts from its start.
    board.record(pass(T0, { billed: [spot(T0 - 30_000)] }));
    expect(board.pools()[0]!.usage).toEqual({
      since: T0 - 30_000,
      to: T0,
      lines: [{ instanceType: "c7g.xlarge", market: "spot", seconds: 30 }],
    });
    // 60 s later: that agent's minute, and a new one's 20 s since its billing began.
    board.record(
      pass(T0 + 60_000, {
        billed: [spot(T0 - 30_000), { instanceType: "m7g.xlarge", market: "on-demand", since: T0 + 40_000 }],
      }),
    );
    // A failed pass reads nothing: the next counts from the last pass that read the pool.
    board.record({ ...pass(T0 + 90_000, { failed: "throttled" }), billed: undefined });
    const restored = new FleetStatusBoard(); // another scaler container
    restored.restore(board.pools());
    restored.record(pass(T0 + 120_000, { billed: [spot(T0 - 30_000)] }));
    expect(restored.pools()[0]!.usage).toEqual({
      since: T0 - 30_000,
      to: T0 + 120_000,
      lines: [
        { instanceType: "c7g.xlarge", market: "spot", seconds: 150 },
        { instanceType: "m7g.xlarge", market: "on-demand", seconds: 20 },
      ],
    });
    // A pass with no agent adds nothing, and a clock behind the last pass adds nothing either.
    restored.record(pass(T0 + 180_000, { billed: [] }));
    restored.record(pass(T0 + 170_000, { billed: [spot(T0 - 30_000)] }));
    expect(restored.pools()[0]!.usage!.lines[0]!.seconds).toBe(150);
    expect(restored.pools()[0]!.usage!.to).toBe(T0 + 180_000);
  });

  it("prices agent time at list prices, spot at the table's fraction, local processes and unknown types unpriced", () => {
    const hour = 3_600;
    const cost = priceFleetUsage({
      since: T0,
      to: T0 + hour * 1_000,
      lines: [
        { instanceType: "c7g.xlarge", market: "on-demand", seconds: hour },
        { instanceType: "c7g.xlarge", market: "spot", seconds: hour },
        { instanceType: "x9z.huge", market: "on-demand", seconds: hour },
        { instanceType: "local", market: "local", seconds: hour },
      ],
    });
    const onDemand = AWS_LIST_PRICES.ec2.onDemandHourly["c7g.xlarge"];
    expect(cost.lines.map((l) => [l.dollars, l.priced])).toEqual([
      [onDemand, true],
      [Math.round(onDemand * AWS_LIST_PRICES.ec2.spotFraction * 1e9) / 1e9, true],
      [0, false],
      [0, false],
    ]);
    expect(cost.dollars).toBeCloseTo(onDemand * (1 + AWS_LIST_PRICES.ec2.spotFraction), 9);
    expect(cost.prices.region).toBe(AWS_LIST_PRICES.region);
  });
});
