/** A session's tasks by state: tiles on the session page, a compact line in the list. */
import { html } from "htm/preact";
import { count } from "./format.ts";
import type { Counts } from "./types.ts";

const STATES = ["queued", "running", "succeeded", "failed", "cancelled"] as const;

/** One tile per state, with the total. */
export function CountTiles({ counts }: { counts: Counts }) {
  return html`<ul class="tiles" aria-label="tasks by state">
    <li><span class="n">${count(counts.total)}</span> total</li>
    ${STATES.map((s) => html`<li class=${s}><span class="n" data-state=${s}>${count(counts[s])}</span> ${s}</li>`)}
  </ul>`;
}

/** The non-zero states on one line: "3 queued · 2 running · 95 succeeded". */
export function CountLine({ counts }: { counts: Counts }) {
  const parts = STATES.filter((s) => counts[s] > 0);
  if (parts.length === 0) return html`<span class="muted">no tasks</span>`;
  return html`<span class="countline">${parts.map(
    (s) => html`<span class=${s}>${count(counts[s])} ${s}</span>`,
  )}</span>`;
}

/** A progress bar with its percentage. */
export function Progress({ share }: { share: number }) {
  const pct = Math.floor(share * 100);
  return html`<span class="progress"><span class="bar" role="progressbar" aria-valuenow=${pct} aria-valuemin="0" aria-valuemax="100"><span style=${`width:${pct}%`}></span></span> ${pct}%</span>`;
}
