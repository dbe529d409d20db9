import { describe, expect, it } from "vitest";
import { OptionInput, priceOption } from "./option-pricing.ts";

/** Black-Scholes closed form, the reference for the Monte-Carlo price. */
function blackScholes(
  kind: "call" | "put",
  s: number,
  k: number,
  r: number,
  sigma: number,
  t: number,
): number {
  const cdf = (x: number) => {
    // Abramowitz-Stegun 7.1.26, accurate to 1e-7
    const z = Math.abs(x) / Math.SQRT2;
    const u = 1 / (1 + 0.3275911 * z);
    const erf =
      1 -
      ((((1.061405429 * u - 1.453152027) * u + 1.421413741) * u - 0.284496736) * u + 0.254829592) *
        u *
        Math.exp(-z * z);
    return 0.5 * (1 + Math.sign(x) * erf);
  };
  const d1 = (Math.log(s / k) + (r + (sigma * sigma) / 2) * t) / (sigma * Math.sqrt(t));
  const d2 = d1 - sigma * Math.sqrt(t);
  return kind === "call"
    ? s * cdf(d1) - k * Math.exp(-r * t) * cdf(d2)
    : k * Math.exp(-r * t) * cdf(-d2) - s * cdf(-d1);
}

describe("Monte-Carlo option pricing example", () => {
  it.each(["call", "put"] as const)(
    "prices a European %s within 4 standard errors of Black-Scholes",
    (kind) => {
      const input = OptionInput.parse({
        kind,
        spot: 100,
        strike: 105,
        rate: 0.03,
        volatility: 0.25,
        maturity: 1,
        paths: 200_000,
        seed: 7,
      });
      const { price, stdError } = priceOption(input);
      const exact = blackScholes(kind, 100, 105, 0.03, 0.25, 1);
      expect(stdError).toBeGreaterThan(0);
      expect(Math.abs(price - exact)).toBeLessThan(4 * stdError);
    },
  );

  it("is deterministic for a seed, so a retried task returns the same price", () => {
    const input = OptionInput.parse({
      kind: "call",
      spot: 50,
      strike: 50,
      rate: 0,
      volatility: 0.3,
      maturity: 2,
      seed: 3,
    });
    expect(priceOption(input)).toEqual(priceOption(input));
    expect(priceOption({ ...input, seed: 4 }).price).not.toBe(priceOption(input).price);
  });

  it("stops when its signal aborts", () => {
    const input = OptionInput.parse({
      kind: "put",
      spot: 1,
      strike: 1,
      rate: 0,
      volatility: 0.1,
      maturity: 1,
    });
    const controller = new AbortController();
    controller.abort("cancelled");
    expect(() => priceOption(input, controller.signal)).toThrow();
  });
});
