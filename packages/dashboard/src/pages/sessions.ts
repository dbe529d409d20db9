/**
 * Sessions, newest first, filtered by state and tag: each with its state, progress, tasks by
 * state, throughput now, age and cost so far. A grid whose list has no summaries or filters
 * still lists its sessions, and says what it cannot show.
 */
import { html } from "htm/preact";
import { useState } from "preact/hooks";
import { ApiError, getJson } from "../api.ts";
import { CountLine, Progress } from "../counts.ts";
import { age, dollars, rate } from "../format.ts";
import { usePoll } from "../poll.ts";
import { Problem } from "../problem.ts";
import type { SessionRow } from "../types.ts";

/** Sessions per page (the API's largest). */
const PAGE = 100;
/**
 * Sessions of the first, quick list: a screenful. A page of 100 takes the local grid's DynamoDB
 * Local 0.5-0.9 s to read, 25 about 0.2 s; the full page comes with the summaries.
 */
const FIRST = 25;

interface SessionPage {
  sessions: SessionRow[];
  next?: string;
  /** The grid refused the summary and filters: the plain list instead. */
  plain?: boolean;
}

/**
 * One page, filtered, with summaries when `summary`; an older grid refuses the filters and
 * summaries (400), so then the plain list.
 */
async function loadPage(
  filters: { state: string; tag: string },
  after: string | undefined,
  summary: boolean,
  limit = PAGE,
): Promise<SessionPage> {
  try {
    return await getJson<SessionPage>("/sessions", {
      limit,
      after,
      include: summary ? "summary" : undefined,
      state: filters.state,
      tag: filters.tag,
    });
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 400 || !error.field || error.field === "after")
      throw error;
    return { ...(await getJson<SessionPage>("/sessions", { limit, after })), plain: true };
  }
}

function Row({ s }: { s: SessionRow }) {
  const href = `#/sessions/${encodeURIComponent(s.sessionId)}`;
  const sum = s.summary;
  const tags = Object.entries(s.tags ?? {});
  return html`<tr>
    <td data-label="Session" class="id"><a href=${href}>${s.sessionId}</a>
      ${tags.length > 0 ? html`<div class="tags">${tags.map(([k, v]) => html`<span class="tag">${k}:${v}</span>`)}</div>` : null}</td>
    <td data-label="State"><span class=${`state ${s.state}`}>${s.state}</span></td>
    <td data-label="Progress">${sum ? html`<${Progress} share=${sum.progress} />` : "–"}</td>
    <td data-label="Tasks">${sum ? html`<${CountLine} counts=${sum.counts} />` : "–"}</td>
    <td data-label="Now" class="num">${sum && !sum.settled ? rate(sum.throughputPerSec) : "–"}</td>
    <td data-label="Age" class="num">${age(s.createdAt)}</td>
    <td data-label="Cost" class="num">${dollars(sum?.costDollars)}</td>
  </tr>`;
}

/** The page; `query` is the hash's query (state=, tag=). */
export function SessionsPage({ query }: { query: URLSearchParams }) {
  const filters = { state: query.get("state") ?? "", tag: query.get("tag") ?? "" };
  const [more, setMore] = useState<{ key: string; rows: SessionRow[]; next?: string | undefined }>({
    key: "",
    rows: [],
  });
  const key = `${filters.state}|${filters.tag}`;
  // A screenful of the list alone first, once, then the full page polled with the summaries,
  // which cost the grid more to read: rows show at once and fill in (not both at once: they
  // would compete).
  const quick = usePoll(
    `${key}|quick`,
    () => loadPage(filters, undefined, false, FIRST),
    () => null,
  );
  const polled = usePoll(
    key,
    () => loadPage(filters, undefined, true),
    (page) =>
      page.sessions.some((s) => s.state === "OPEN" || (s.summary && !s.summary.settled)) ? 5_000 : 30_000,
    quick.data !== undefined || quick.error !== undefined,
  );
  const page = polled.data ?? quick.data;
  // The first list's failure matters only until a list is shown.
  const failure: { error?: ApiError | undefined; retryAt?: number | undefined } = polled.error
    ? polled
    : quick.data
      ? {}
      : quick;
  const extra = more.key === key ? more : { key, rows: [] as SessionRow[], next: undefined };
  // Paging goes on from the full page only (the quick one is shorter: its `next` would repeat rows).
  const next = extra.rows.length > 0 ? extra.next : polled.data?.next;
  const [loadingMore, setLoadingMore] = useState(false);
  const loadMore = async () => {
    setLoadingMore(true);
    try {
      const p = await loadPage(filters, next, true);
      setMore({ key, rows: [...extra.rows, ...p.sessions], next: p.next });
    } finally {
      setLoadingMore(false);
    }
  };
  const setFilter = (name: string, value: string) => {
    const q = new URLSearchParams(query);
    if (value) q.set(name, value);
    else q.delete(name);
    const qs = q.toString();
    location.hash = `#/sessions${qs ? `?${qs}` : ""}`;
  };
  const rows = [...(page?.sessions ?? []), ...extra.rows];
  // The tag box is uncontrolled: a live refresh would reset what is being typed. A new filter
  // makes a new box (its key).
  return html`<section>
    <h1>Sessions</h1>
    <form class="filters" onSubmit=${(e: Event) => {
      e.preventDefault();
      const tag = (e.currentTarget as HTMLFormElement).elements.namedItem("tag") as HTMLInputElement;
      setFilter("tag", tag.value.trim());
    }}>
      <label>State <select name="state" value=${filters.state} onChange=${(e: Event) => setFilter("state", (e.currentTarget as HTMLSelectElement).value)}>
        <option value="">any</option><option>OPEN</option><option>CLOSED</option><option>CANCELLED</option>
      </select></label>
      <label>Tag <input name="tag" placeholder="key:value" key=${filters.tag} defaultValue=${filters.tag} /></label>
      <button type="submit">Filter</button>
    </form>
    <${Problem} error=${failure.error} retryAt=${failure.retryAt} />
    ${page?.plain ? html`<p class="unavailable">Filters, progress and cost per session are not available on this grid (its API is older than this dashboard).</p>` : null}
    ${!page && !failure.error ? html`<p class="muted">Loading…</p>` : null}
    ${page && rows.length === 0 && !next ? html`<p class="muted">No sessions${filters.state || filters.tag ? " match these filters" : " yet"}.</p>` : null}
    ${page && rows.length === 0 && next ? html`<p class="muted">None among the newest sessions; older ones may match.</p>` : null}
    ${
      rows.length > 0
        ? html`<table class="list sessions">
          <thead><tr><th>Session</th><th>State</th><th>Progress</th><th>Tasks</th><th>Now</th><th>Age</th><th>Cost</th></tr></thead>
          <tbody>${rows.map((s) => html`<${Row} key=${s.sessionId} s=${s} />`)}</tbody>
        </table>`
        : null
    }
    ${next ? html`<button type="button" onClick=${loadMore} disabled=${loadingMore}>${loadingMore ? "Loading…" : "More sessions"}</button>` : null}
  </section>`;
}
