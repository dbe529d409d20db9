import { describe, expect, it } from "vitest";
import { isLeaseLive, leaseVisibilitySeconds, needsHeartbeat, secondsUntil } from "./lease.ts";

const NOW = 1_700_000_000_000;

describe("isLeaseLive", () => {
  it.each([
    { name: "owner, expiry ahead", owner: "w1", leaseUntil: NOW + 1, live: true },
    { name: "owner, expiry far ahead", owner: "w1", leaseUntil: NOW + 3_600_000, live: true },
    { name: "owner, expiring exactly now", owner: "w1", leaseUntil: NOW, live: false },
    { name: "owner, expired", owner: "w1", leaseUntil: NOW - 1, live: false },
    { name: "owner, no expiry", owner: "w1", leaseUntil: undefined, live: false },
    { name: "no owner, expiry ahead", owner: undefined, leaseUntil: NOW + 1, live: false },
    { name: "neither", owner: undefined, leaseUntil: undefined, live: false },
  ])("$name → $live", ({ owner, leaseUntil, live }) => {
    expect(isLeaseLive({ owner, leaseUntil }, NOW)).toBe(live);
  });
});

describe("needsHeartbeat", () => {
  it.each([
    { leaseMs: 60_000, elapsed: 0, due: false },
    { leaseMs: 60_000, elapsed: 19_999, due: false },
    { leaseMs: 60_000, elapsed: 20_000, due: true },
    { leaseMs: 60_000, elapsed: 59_000, due: true },
    { leaseMs: 60_000, elapsed: 120_000, due: true },
    // A third of 1000 ms is 333.3 ms.
    { leaseMs: 1_000, elapsed: 333, due: false },
    { leaseMs: 1_000, elapsed: 334, due: true },
    { leaseMs: 3_000, elapsed: 999, due: false },
    { leaseMs: 3_000, elapsed: 1_000, due: true },
  ])("lease $leaseMs ms, $elapsed ms after it was granted → $due", ({ leaseMs, elapsed, due }) => {
    expect(needsHeartbeat({ leasedAt: NOW - elapsed, leaseMs }, NOW)).toBe(due);
  });

  it("never asks a chunk without a lease to beat", () => {
    expect(needsHeartbeat({ leasedAt: undefined, leaseMs: 60_000 }, NOW)).toBe(false);
  });
});

describe("leaseVisibilitySeconds", () => {
  it.each([
    { leaseMs: 1, seconds: 3 },
    { leaseMs: 1_000, seconds: 3 },
    { leaseMs: 1_001, seconds: 4 },
    { leaseMs: 60_000, seconds: 62 },
    { leaseMs: 43_197_000, seconds: 43_199 },
    { leaseMs: 43_197_001, seconds: 43_200 },
    { leaseMs: 43_200_000, seconds: 43_200 },
    { leaseMs: 100 * 3_600_000, seconds: 43_200 },
  ])("lease $leaseMs ms → $seconds s", ({ leaseMs, seconds }) => {
    expect(leaseVisibilitySeconds(leaseMs)).toBe(seconds);
  });
});

describe("secondsUntil", () => {
  it.each([
    { ahead: -60_000, seconds: 1 },
    { ahead: 0, seconds: 1 },
    { ahead: 1, seconds: 1 },
    { ahead: 1_000, seconds: 1 },
    { ahead: 1_001, seconds: 2 },
    { ahead: 1_500, seconds: 2 },
    { ahead: 90_000, seconds: 90 },
    { ahead: 43_200_000, seconds: 43_200 },
    { ahead: 43_200_001, seconds: 43_200 },
    { ahead: 13 * 3_600_000, seconds: 43_200 },
  ])("$ahead ms ahead → $seconds s", ({ ahead, seconds }) => {
    expect(secondsUntil(NOW + ahead, NOW)).toBe(seconds);
  });
});
