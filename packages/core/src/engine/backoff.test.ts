import { describe, expect, it } from "vitest";
import { backoffDelayMs } from "./backoff.ts";

describe("backoffDelayMs", () => {
  // Expected values are floor(clamp(random) * min(max, base * 2^(max(attempt, 1) - 1))), worked by hand.
  it.each([
    { attempt: 1, base: 1_000, max: 300_000, random: 0, delay: 0 },
    { attempt: 1, base: 1_000, max: 300_000, random: 0.5, delay: 500 },
    { attempt: 1, base: 1_000, max: 300_000, random: 0.9999999, delay: 999 },
    { attempt: 2, base: 1_000, max: 300_000, random: 0.5, delay: 1_000 },
    { attempt: 3, base: 1_000, max: 300_000, random: 0.5, delay: 2_000 },
    { attempt: 3, base: 1_000, max: 300_000, random: 0.25, delay: 1_000 },
    { attempt: 9, base: 1_000, max: 300_000, random: 0.5, delay: 128_000 },
    { attempt: 10, base: 1_000, max: 300_000, random: 0.5, delay: 150_000 },
    { attempt: 10, base: 1_000, max: 300_000, random: 0.9999999, delay: 299_999 },
    { attempt: 4, base: 250, max: 1_500, random: 0.5, delay: 750 },
    { attempt: 1, base: 0, max: 300_000, random: 0.9, delay: 0 },
    { attempt: 5, base: 1_000, max: 0, random: 0.9, delay: 0 },
  ])(
    "attempt $attempt, base $base, max $max, random $random → $delay ms",
    ({ attempt, base, max, random, delay }) => {
      expect(backoffDelayMs(attempt, base, max, random)).toBe(delay);
    },
  );

  it.each([
    { name: "attempt 0 counts as the first", attempt: 0, delay: 500 },
    { name: "a negative attempt counts as the first", attempt: -3, delay: 500 },
    { name: "a huge attempt stays at the cap", attempt: 1_000_000, delay: 150_000 },
  ])("$name", ({ attempt, delay }) => {
    expect(backoffDelayMs(attempt, 1_000, 300_000, 0.5)).toBe(delay);
  });

  it("caps the exponent, so an unbounded maximum still yields a finite delay", () => {
    expect(backoffDelayMs(2_000, 1, Number.POSITIVE_INFINITY, 0.5)).toBe(2 ** 51);
  });

  it.each([
    { random: -0.5, delay: 0 },
    { random: -1e9, delay: 0 },
    { random: 1, delay: 3_999 },
    { random: 7, delay: 3_999 },
  ])("clamps random $random into [0, 1)", ({ random, delay }) => {
    expect(backoffDelayMs(3, 1_000, 300_000, random)).toBe(delay);
  });

  it.each([1, 2, 3, 5, 8, 12])(
    "attempt %i: whole milliseconds in [0, ceiling), non-decreasing in random",
    (attempt) => {
      const ceiling = Math.min(300_000, 1_000 * 2 ** (attempt - 1));
      let previous = -1;
      for (let k = 0; k <= 1_000; k++) {
        const delay = backoffDelayMs(attempt, 1_000, 300_000, k / 1_000);
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(ceiling);
        expect(delay).toBeGreaterThanOrEqual(previous);
        previous = delay;
      }
      // Full jitter: the draw spans the whole range, not only its upper half.
      expect(backoffDelayMs(attempt, 1_000, 300_000, 0.001)).toBeLessThan(ceiling / 100);
      expect(previous).toBe(ceiling - 1);
    },
  );
});

describe("backoffDelayMs with a broken random source", () => {
  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])(
    "treats %s as 0 rather than a NaN delay",
    (random) => {
      expect(backoffDelayMs(3, 1_000, 300_000, random)).toBe(0);
    },
  );
});
