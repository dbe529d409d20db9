/**
 * Agents SIGKILLed at random while thousands of short tasks run (see chaos-run.ts; a larger run
 * is `npm run chaos`): nothing is lost or delivered twice, no task fails that did not run
 * maxAttempts times, and a killed agent's tasks run again once its lease ends (not after a
 * lost ticket's re-drive).
 */
import { describe, expect, inject, it } from "vitest";
import { runChaos } from "./chaos-run.ts";

describe("chaos: agents killed at random", () => {
  it("loses nothing, delivers everything once, and fails no task that did not run maxAttempts times", async () => {
    const leaseMs = 5_000;
    const report = await runChaos({
      endpoints: inject("emulators"),
      tasks: 1_500,
      agents: 3,
      concurrency: 4,
      killEveryMs: 4_000,
      maxKills: 6,
      taskMs: [20, 150],
      leaseMs,
      maxAttempts: 3,
      chunkMaxTasks: 16,
      reapEveryMs: 2_000,
      capMs: 150_000,
    });
    expect(report.settled, JSON.stringify(report)).toBe(true);
    expect(report.kills).toBeGreaterThanOrEqual(3);
    expect(report.interrupted, JSON.stringify(report)).toBeGreaterThan(0); // the kills did cut runs short
    expect(report).toMatchObject({ lost: 0, deliveredTwice: 0, failedWithoutMaxRuns: 0, cancelled: 0 });
    expect(report.succeeded + report.failed).toBe(report.tasks);
    // The runs a kill cut short run again once the lease is over (their tickets come back then);
    // the median, as a handful of samples here makes p90 their maximum (npm run chaos has p90).
    // How soon is a benchmark's figure (`npm run chaos`): about 11 s here on a quiet machine, up
    // to 24 s on a loaded one. What this checks is the path: the ticket comes back when the lease
    // ends, not after a lost ticket's 15-minute re-drive.
    expect(report.killToRerunMs.p50, JSON.stringify(report)).toBeLessThan(60_000);
  }, 180_000);
});
