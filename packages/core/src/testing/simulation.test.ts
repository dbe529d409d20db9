import { describe, expect, it } from "vitest";
import { simulate } from "./simulation.ts";

const SEEDS = 300;

describe("deterministic simulation with injected faults", () => {
  it(`keeps every invariant over ${SEEDS} seeded runs`, async () => {
    const failures: string[] = [];
    let crashes = 0;
    let lost = 0;
    let conflicts = 0;
    let skewed = 0;
    let stalls = 0;
    let cancels = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = await simulate(seed);
      crashes += r.crashes;
      lost += r.faults.ticketLoss;
      conflicts += r.conflicts;
      skewed += r.skewedWorkers;
      stalls += r.stalls;
      cancels += r.cancels;
      if (r.violations.length > 0) failures.push(`seed ${seed}: ${r.violations.slice(0, 3).join("; ")}`);
    }
    expect(failures).toEqual([]);
    // The runs must really have exercised the faults they claim to survive.
    expect(crashes).toBeGreaterThan(SEEDS);
    expect(lost).toBeGreaterThan(SEEDS);
    expect(conflicts).toBeGreaterThan(10); // concurrent batches with other work, refused
    expect(skewed).toBeGreaterThan(SEEDS); // workers whose clocks are up to a minute off
    expect(stalls).toBeGreaterThan(SEEDS); // workers whose event loop stalls
    expect(cancels).toBeGreaterThan(SEEDS); // cancels at random moments
  });

  it("is deterministic: the same seed gives the same run", async () => {
    const a = await simulate(42);
    const b = await simulate(42);
    expect(b).toEqual(a);
  });
});
