/**
 * The fleet: per pool, the work waiting by priority (tickets: one per chunk of tasks), the agents
 * by state, recent launches with their instance types, shortfalls (capacity the scaler wanted
 * and could not get) and the pool's agent time so far, priced, as the fleet controller last saw
 * them.
 */
import { html } from "htm/preact";
import { getJson } from "../api.ts";
import { age, count, dollars, duration, time } from "../format.ts";
import { usePoll } from "../poll.ts";
import { Problem } from "../problem.ts";
import type { Fleet } from "../types.ts";

type Pool = Fleet["pools"][number];

function PoolCard({ p }: { p: Pool }) {
  return html`<article class="pool">
    <h2 class="id">${p.pool}</h2>
    ${p.at ? html`<p class="muted">As the fleet controller saw it ${age(p.at)} ago.</p>` : null}
    <div class="pool-grid">
      <div>
        <h3>Waiting tickets</h3>
        <ul class="tiles small">
          <li><span class="n">${count(p.queued.high)}</span> high</li>
          <li><span class="n">${count(p.queued.normal)}</span> normal</li>
          <li><span class="n">${count(p.queued.low)}</span> low</li>
        </ul>
      </div>
      <div>
        <h3>Agents</h3>
        <ul class="tiles small">
          <li><span class="n">${p.agents.launching}</span> launching</li>
          <li><span class="n">${p.agents.busy}</span> busy</li>
          <li><span class="n">${p.agents.idle}</span> idle</li>
          <li><span class="n">${p.agents.draining}</span> draining</li>
        </ul>
      </div>
    </div>
    <h3>Recent launches</h3>
    ${
      p.recentLaunches.length === 0
        ? html`<p class="muted">None recently.</p>`
        : html`<ul class="events">${p.recentLaunches.map(
            (l) =>
              html`<li>${age(l.at)} ago: ${l.count} agent(s)${
                l.instanceTypes?.length
                  ? `: ${l.instanceTypes.map((t) => `${t.count} × ${t.instanceType} ${t.market}`).join(", ")}`
                  : ""
              }</li>`,
          )}</ul>`
    }
    <h3>Shortfalls</h3>
    ${
      p.shortfalls.length === 0
        ? html`<p class="muted">None.</p>`
        : html`<ul class="events warn">${p.shortfalls.map((s) => html`<li>${age(s.at)} ago: ${s.message}</li>`)}</ul>`
    }
    <h3>Cost so far</h3>
    ${
      p.cost === undefined
        ? html`<p class="unavailable">Not counted yet: the fleet controller has not read this pool.</p>`
        : html`<${PoolCost} cost=${p.cost} />`
    }
  </article>`;
}

/** The pool's agent time by instance type and market, priced; local processes are not. */
function PoolCost({ cost }: { cost: NonNullable<Pool["cost"]> }) {
  return html`<p class="muted">Agent time from ${time(cost.since)} to ${time(cost.to)} (UTC), idle and boot time included.</p>
    ${
      cost.lines.length === 0
        ? html`<p class="muted">No agent has run.</p>`
        : html`<table class="list cost">
      <thead><tr><th>Instance type</th><th>Market</th><th>Agent time</th><th>Dollars</th></tr></thead>
      <tbody>${cost.lines.map(
        (l) => html`<tr>
          <td data-label="Instance type">${l.instanceType}</td>
          <td data-label="Market">${l.market}</td>
          <td data-label="Agent time" class="num">${duration(l.instanceSeconds * 1_000)}</td>
          <td data-label="Dollars" class="num">${l.priced ? dollars(l.dollars) : l.market === "local" ? "local process: not priced" : "no price"}</td>
        </tr>`,
      )}</tbody>
      <tfoot><tr>${
        cost.lines.some((l) => l.priced)
          ? html`<td colspan="3">Total (list prices of ${cost.prices.region}, ${cost.prices.takenOn})</td><td class="num">${dollars(cost.dollars)}</td>`
          : html`<td colspan="3">Total</td><td class="num">not priced</td>`
      }</tr></tfoot>
    </table>`
    }`;
}

/** The page. */
export function FleetPage() {
  const polled = usePoll(
    "fleet",
    () => getJson<Fleet>("/fleet"),
    (f) =>
      f.pools.some(
        (p) => p.agents.launching + p.agents.busy + p.queued.high + p.queued.normal + p.queued.low > 0,
      )
        ? 3_000
        : 15_000,
  );
  const f = polled.data;
  return html`<section>
    <h1>Fleet</h1>
    <${Problem} error=${polled.error} retryAt=${polled.retryAt} what="The fleet view" />
    ${f && f.pools.length === 0 ? html`<p class="muted">No pools.</p>` : null}
    ${f ? f.pools.map((p) => html`<${PoolCard} key=${p.pool} p=${p} />`) : !polled.error ? html`<p class="muted">Loading…</p>` : null}
  </section>`;
}
