/**
 * Retry delay with exponential backoff and full jitter (AWS Architecture Blog, "Exponential
 * Backoff And Jitter"): a uniform draw in [0, min(max, base * 2^(attempt-1))).
 * `random` is a number in [0, 1) supplied by the caller, so the function stays pure.
 */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs: number, random: number): number {
  const exponent = Math.min(Math.max(0, attempt - 1), 52);
  const ceiling = Math.min(maxMs, baseMs * 2 ** exponent);
  const draw = Number.isFinite(random) ? Math.min(Math.max(random, 0), 0.999_999_999) : 0;
  return Math.floor(draw * ceiling);
}
