/** How numbers, times and money read on the pages. */

const whole = new Intl.NumberFormat("en-US");

/** 12,345 */
export function count(n: number): string {
  return whole.format(n);
}

/** $12.35 above a dollar; below, three significant digits ($0.00224), since a session's cost is often a fraction of a cent. */
export function dollars(n: number | undefined): string {
  if (n === undefined) return "–";
  if (n >= 1) return `$${n.toFixed(2)}`;
  if (n <= 0) return "$0";
  const decimals = Math.min(10, 2 - Math.floor(Math.log10(n)));
  return `$${n.toFixed(decimals).replace(/0+$/, "").replace(/\.$/, "")}`;
}

/** 450 ms, 3.2 s, 4 min 10 s, 2 h 5 min */
export function duration(ms: number | undefined): string {
  if (ms === undefined) return "–";
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  const s = ms / 1_000;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3_600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3_600)} h ${Math.round((s % 3_600) / 60)} min`;
}

/** How long ago `iso` was: "12 s", "5 min", "3 h", "2 d". */
export function age(iso: string, now = Date.now()): string {
  const s = Math.max(0, (now - Date.parse(iso)) / 1_000);
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3_600) return `${Math.round(s / 60)} min`;
  if (s < 86_400) return `${Math.round(s / 3_600)} h`;
  return `${Math.round(s / 86_400)} d`;
}

/** 1,234.5/s */
export function rate(perSec: number | undefined): string {
  if (perSec === undefined) return "–";
  return `${perSec >= 100 ? count(Math.round(perSec)) : perSec.toFixed(1)}/s`;
}

/** 2026-11-24 10:00:01 (UTC, to the second) */
export function time(iso: string | undefined): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)}` : "–";
}
