/** Parses `--name value` flags of a benchmark or script; exits with one clear line on bad input. */
import { parseArgs } from "node:util";

export function numberFlags<K extends string>(defaults: Record<K, number>): Record<K, number> {
  const options = Object.fromEntries(Object.keys(defaults).map((k) => [k, { type: "string" as const }]));
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({ options, strict: true }).values as Record<string, string | undefined>;
  } catch (error) {
    console.error(
      `${(error as Error).message}. Flags: ${Object.keys(defaults)
        .map((k) => `--${k} N`)
        .join(" ")}`,
    );
    process.exit(2);
  }
  const out = { ...defaults };
  for (const k of Object.keys(defaults) as K[]) {
    const raw = values[k];
    if (raw === undefined) continue;
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < 1) {
      console.error(`--${k}: expected a positive integer, got "${raw}"`);
      process.exit(2);
    }
    out[k] = n;
  }
  return out;
}
