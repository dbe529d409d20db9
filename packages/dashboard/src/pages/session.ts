/**
 * One session: progress and throughput over time, tasks by state, failures grouped by code
 * (with the first message and links to tasks), the slowest tasks, cost lines, and Close and
 * Cancel behind a confirmation. Polls every 2 s while tasks run and stops once settled.
 */
import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import { getJson, postJson, seg } from "../api.ts";
import type { HistoryChart } from "../chart.ts";
import { ConfirmButton } from "../confirm.ts";
import { CountTiles, Progress } from "../counts.ts";
import { age, count, dollars, duration, time } from "../format.ts";
import { usePoll } from "../poll.ts";
import { Problem } from "../problem.ts";
import type { Failures, History, SessionDetail, TaskList } from "../types.ts";

/** Delay before the next poll of a session: often while it runs, rarely while open and idle. */
function pollDelay(s: { settled: boolean; counts: { queued: number; running: number } }): number | null {
  if (s.settled) return null;
  return s.counts.queued + s.counts.running > 0 ? 2_000 : 10_000;
}

/** The chart, loaded with its library (uPlot, half the JavaScript) only on the page that shows it. */
function LazyChart({ history }: { history: History }) {
  const [Chart, setChart] = useState<typeof HistoryChart | undefined>();
  useEffect(() => {
    void import("../chart.ts").then((m) => setChart(() => m.HistoryChart));
  }, []);
  return Chart ? html`<${Chart} history=${history} />` : html`<div class="chart"></div>`;
}

const taskHref = (sessionId: string, taskId: string) => `#/sessions/${seg(sessionId)}/tasks/${seg(taskId)}`;

function FailureGroups({ sessionId, failures }: { sessionId: string; failures: Failures }) {
  if (failures.groups.length === 0) return html`<p class="muted">No failed tasks.</p>`;
  return html`<table class="list failures">
      <thead><tr><th>Code</th><th>Tasks</th><th>First message</th><th>Some of them</th></tr></thead>
      <tbody>${failures.groups.map(
        (g) => html`<tr>
          <td data-label="Code"><code>${g.code}</code></td>
          <td data-label="Tasks" class="num">${count(g.count)}</td>
          <td data-label="First message" class="message">${g.firstMessage}</td>
          <td data-label="Some of them" class="links">${g.taskIds
            .slice(0, 5)
            .map((id) => html`<a href=${taskHref(sessionId, id)}>#${id}</a> `)}</td>
        </tr>`,
      )}</tbody>
    </table>
    ${failures.complete ? null : html`<p class="muted">Grouped over a sample of the session's tasks; ${count(failures.totalFailed)} failed in all.</p>`}
    ${failures.retried ? html`<p class="muted">${count(failures.retried)} task(s) needed more than one attempt.</p>` : null}`;
}

function SlowestTasks({ sessionId, list }: { sessionId: string; list: TaskList }) {
  const tasks = list.tasks;
  if (tasks.length === 0) return html`<p class="muted">No finished tasks yet.</p>`;
  return html`${list.complete === false ? html`<p class="muted">Ranked among the session's first 1,000 finished tasks.</p>` : null}
  <table class="list slowest">
    <thead><tr><th>Task</th><th>Status</th><th>Duration</th><th>Attempt</th><th>Handler</th></tr></thead>
    <tbody>${tasks.map(
      (t) => html`<tr>
        <td data-label="Task"><a href=${taskHref(sessionId, t.taskId)}>#${t.taskId}</a></td>
        <td data-label="Status"><span class=${`status ${t.status}`}>${t.status}</span></td>
        <td data-label="Duration" class="num">${duration(t.durationMs)}</td>
        <td data-label="Attempt" class="num">${t.attempt}</td>
        <td data-label="Handler">${t.handler ?? "–"}</td>
      </tr>`,
    )}</tbody>
  </table>`;
}

function CostLines({ cost }: { cost: NonNullable<SessionDetail["cost"]> }) {
  return html`<table class="list cost">
    <thead><tr><th>Service</th><th>Item</th><th>Quantity</th><th>Dollars</th></tr></thead>
    <tbody>${cost.lines.map(
      (l) => html`<tr>
        <td data-label="Service">${l.service}</td>
        <td data-label="Item">${l.item}</td>
        <td data-label="Quantity" class="num">${count(Math.round(l.quantity * 1000) / 1000)} ${l.unit}</td>
        <td data-label="Dollars" class="num">${l.priced ? dollars(l.dollars) : "no price"}</td>
      </tr>`,
    )}</tbody>
    <tfoot><tr><td colspan="3">Total${cost.prices ? ` (list prices of ${cost.prices.region}, ${cost.prices.takenOn})` : ""}</td><td class="num">${dollars(cost.dollars)}</td></tr></tfoot>
  </table>`;
}

/** The page of session `sessionId`. */
export function SessionPage({ sessionId }: { sessionId: string }) {
  const path = `/sessions/${seg(sessionId)}`;
  const detail = usePoll(sessionId, () => getJson<SessionDetail>(path), pollDelay);
  const s = detail.data;
  // The parts below follow the session's own pace; each may be missing on an older grid.
  const live = (next: number | null) => (s ? (pollDelay(s) ?? next) : 2_000);
  const history = usePoll(
    sessionId,
    () => getJson<History>(`${path}/history`),
    () => live(null),
  );
  const failures = usePoll(
    sessionId,
    () => getJson<Failures>(`${path}/failures`),
    () => live(null),
  );
  const slowest = usePoll(
    sessionId,
    () => getJson<TaskList>(`${path}/tasks`, { order: "slowest", limit: 10 }),
    () => (s ? (pollDelay(s) === null ? null : 10_000) : 10_000),
  );
  const act = (verb: "close" | "cancel") => async () => {
    await postJson(`${path}/${verb}`);
    detail.refresh();
    failures.refresh();
  };
  return html`<section>
    <nav class="crumbs"><a href="#/sessions">Sessions</a> /</nav>
    <h1 class="id">${sessionId}</h1>
    <${Problem} error=${detail.error} retryAt=${detail.retryAt} />
    ${
      s
        ? html`
        <div class="summary">
          <span class=${`state ${s.state}`} data-testid="session-state">${s.state}</span>
          <${Progress} share=${s.progress} />
          <span class="muted">created ${age(s.createdAt)} ago · ${s.settled ? "settled" : "live"}</span>
          <span class="spacer"></span>
          <${ConfirmButton} label="Close" confirmLabel="Close the session" disabled=${s.state !== "OPEN"}
            question=${`Close ${sessionId}? It takes no more tasks; those submitted still run.`} action=${act("close")} />
          <${ConfirmButton} label="Cancel" confirmLabel="Cancel the session" danger=${true} disabled=${s.state === "CANCELLED" || s.settled}
            question=${`Cancel ${sessionId}? Queued tasks never start and running ones are stopped. This cannot be undone.`} action=${act("cancel")} />
        </div>
        <${CountTiles} counts=${s.counts} />
        <h2>Progress</h2>
        ${history.data && history.data.points.length > 1 ? html`<${LazyChart} history=${history.data} />` : null}
        ${history.data && history.data.points.length <= 1 ? html`<p class="muted">Not enough history for a chart yet.</p>` : null}
        ${history.data?.complete === false ? html`<p class="muted">The chart starts with the newest 4,000 snapshots.</p>` : null}
        <${Problem} error=${history.error} retryAt=${history.retryAt} what="The progress history" />
        <h2>Failures</h2>
        ${failures.data ? html`<${FailureGroups} sessionId=${sessionId} failures=${failures.data} />` : null}
        <${Problem} error=${failures.error} retryAt=${failures.retryAt} what="Failures by code" />
        <h2>Slowest tasks</h2>
        ${slowest.data ? html`<${SlowestTasks} sessionId=${sessionId} list=${slowest.data} />` : null}
        <${Problem} error=${slowest.error} retryAt=${slowest.retryAt} what="The task list" />
        <h2>Cost so far</h2>
        ${s.cost ? html`<${CostLines} cost=${s.cost} />` : html`<p class="unavailable">Cost is not available on this grid.</p>`}
        <p class="muted">Updated ${time(s.updatedAt)} UTC.</p>`
        : !detail.error
          ? html`<p class="muted">Loading…</p>`
          : null
    }
  </section>`;
}
