/**
 * A realistic task module: Monte-Carlo pricing of a European option under geometric Brownian
 * motion, the bread and butter of a risk grid. Each task prices one option (one trade or one
 * scenario of a portfolio run) with a seeded generator, so a retried task returns the same
 * price; it checks its AbortSignal between blocks of paths, so a cancel stops it promptly.
 */
import { defineTask } from "@tessera/task";
import { z } from "zod";

/** One option to price. */
export const OptionInput = z
  .object({
    kind: z.enum(["call", "put"]),
    spot: z.number().positive(),
    strike: z.number().positive(),
    /** Annual risk-free rate, e.g. 0.03. */
    rate: z.number().min(-1).max(1),
    /** Annual volatility, e.g. 0.2. */
    volatility: z.number().positive().max(5),
    /** Years to expiry. */
    maturity: z.number().positive().max(100),
    paths: z.number().int().min(100).max(50_000_000).default(100_000),
    seed: z.number().int().default(1),
  })
  .strict();

/** The price and its Monte-Carlo standard error. */
export interface OptionPrice {
  price: number;
  stdError: number;
  paths: number;
}

/** mulberry32: a small, fast, seedable generator with good statistical quality for pricing. */
function generator(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws by Box-Muller. */
function normals(uniform: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const z = spare;
      spare = undefined;
      return z;
    }
    const u = Math.max(uniform(), Number.MIN_VALUE);
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * uniform();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
}

const BLOCK = 10_000;

/** Prices an option; stops with an error when `signal` aborts. */
export function priceOption(input: z.output<typeof OptionInput>, signal?: AbortSignal): OptionPrice {
  const { spot, strike, rate, volatility: sigma, maturity: t, paths } = input;
  const draw = normals(generator(input.seed));
  const drift = (rate - 0.5 * sigma * sigma) * t;
  const diffusion = sigma * Math.sqrt(t);
  const discount = Math.exp(-rate * t);
  let sum = 0;
  let sumSq = 0;
  for (let done = 0; done < paths; done += BLOCK) {
    signal?.throwIfAborted();
    const end = Math.min(paths, done + BLOCK);
    for (let i = done; i < end; i++) {
      const terminal = spot * Math.exp(drift + diffusion * draw());
      const payoff = input.kind === "call" ? Math.max(terminal - strike, 0) : Math.max(strike - terminal, 0);
      sum += payoff;
      sumSq += payoff * payoff;
    }
  }
  const mean = sum / paths;
  const variance = Math.max(0, sumSq / paths - mean * mean);
  return { price: discount * mean, stdError: (discount * Math.sqrt(variance)) / Math.sqrt(paths), paths };
}

/** The task: one option in, its price out. */
export const priceEuropeanOption = defineTask("price-european-option", OptionInput, (input, { signal }) =>
  priceOption(input, signal),
);
