import { DEFAULT_FLEET_POLICY, FleetController, FleetStatusBoard, SystemClock } from "@tessera/core";
import { describe, expect, it } from "vitest";
import { fleetStatusOf, restoreScalerMemory } from "../src/scaler-lock.ts";

describe("the scaler's memory in its lock", () => {
  const boot = { failures: 2, lastFailedLaunchAt: 1, holds: 1, heldSince: 2, heldUntil: 3 };
  const controller = () =>
    new FleetController({
      fleet: {
        list: async () => [],
        launch: async () => ({ launched: [], errors: [] }),
        stop: async () => {},
      },
      backlog: { backlog: async () => ({ queued: 0, inFlight: 0, oldestAgeMs: 0 }) },
      policies: { batch: { ...DEFAULT_FLEET_POLICY, maxAgents: 4, concurrency: 4 } },
      clock: new SystemClock(),
    });

  it("keeps the failed-boot holds when the status is one another version of the scaler wrote", () => {
    const c = controller();
    const board = new FleetStatusBoard();
    const memory = {
      pools: { batch: { config: "fp", boot } },
      // An older scaler's status (launch instance types were plain strings): a view, skipped.
      status: [
        { pool: "batch", at: 5, recentLaunches: [{ at: 1, count: 1, instanceTypes: ["c7g.xlarge"] }] },
      ],
    };
    expect(restoreScalerMemory(c, memory, { batch: "fp" }, board)).toBeUndefined();
    expect(c.failedBoots().batch).toEqual(boot);
    expect(board.pools()).toEqual([]);
    expect(fleetStatusOf(memory)).toEqual([]);
  });

  it("says so when the memory itself is unreadable, and restores nothing", () => {
    const c = controller();
    expect(restoreScalerMemory(c, { pools: "nope" }, { batch: "fp" })).toMatch(/unreadable/);
    expect(c.failedBoots().batch).not.toEqual(boot);
  });
});
