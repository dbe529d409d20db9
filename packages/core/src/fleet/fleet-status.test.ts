import { describe, expect, it } from "vitest";
import type { PoolPass } from "./controller.ts";
import { FleetStatusBoard, RECENT_ENTRIES, RECENT_MS } from "./fleet-status.ts";

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
    board.restore([{ ...earlier.pools()[0]!, at: 0 }]); // a pool it has seen keeps its own view
    expect(board.pools()[0]!.at).toBe(T0 + 1_000);
  });

  it("forgets entries older than an hour and keeps at most ten", () => {
    const board = new FleetStatusBoard();
    for (let i = 0; i < RECENT_ENTRIES + 5; i++) board.record(pass(T0 + i, { launched: ["x"] }));
    expect(board.pools()[0]!.recentLaunches).toHaveLength(RECENT_ENTRIES);
    board.record(pass(T0 + RECENT_MS + 100));
    expect(board.pools()[0]!.recentLaunches).toEqual([]);
  });
});
