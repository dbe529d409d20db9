/**
 * One task: its attempts (start, end, duration, worker, error), its error, a preview of its
 * payload and result (large ones as download links) and the lines its code logged. Polls while
 * the task is not finished.
 */
import { html } from "htm/preact";
import { getJson, seg } from "../api.ts";
import { duration, time } from "../format.ts";
import { usePoll } from "../poll.ts";
import { Problem } from "../problem.ts";
import type { LogEntry, LogPage, Task } from "../types.ts";

/** Characters of a payload or result shown inline; the whole is a download. */
const PREVIEW_CHARS = 4_096;
/** Most log lines the page reads for one task. */
const MAX_LOG_LINES = 5_000;
const FINISHED = new Set(["SUCCEEDED", "FAILED", "CANCELLED"]);

/** A value's preview, and a download of the whole when it is longer. */
function Preview(props: {
  label: string;
  text?: string | undefined;
  url?: string | undefined;
  name: string;
  cut?: boolean | undefined;
}) {
  const { label, text, url, name } = props;
  if (url)
    return html`<p><a href=${url} download=${name} rel="noreferrer">Download the ${label}</a> (too large to show)</p>`;
  if (text === undefined) return html`<p class="muted">No ${label}.</p>`;
  if (props.cut)
    return html`<pre class="value">${text}…</pre><p class="muted">The first ${text.length.toLocaleString("en-US")} characters of the ${label}.</p>`;
  if (text.length <= PREVIEW_CHARS) return html`<pre class="value">${text}</pre>`;
  const whole = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  return html`<pre class="value">${text.slice(0, PREVIEW_CHARS)}…</pre>
    <p><a href=${whole} download=${name}>Download the whole ${label}</a> (${text.length.toLocaleString("en-US")} characters)</p>`;
}

function Attempts({ task }: { task: Task }) {
  if (!task.attempts) return html`<p class="unavailable">Attempt history is not available on this grid.</p>`;
  if (task.attempts.length === 0) return html`<p class="muted">Not started yet.</p>`;
  // Runs whose worker stopped before committing leave only their number.
  const recorded = new Set(task.attempts.map((a) => a.attempt));
  const lost = Array.from({ length: task.attempt }, (_, i) => i + 1).filter((n) => !recorded.has(n));
  return html`${
    lost.length > 0
      ? html`<p class="muted">No record of attempt ${lost.join(", ")}: a run that ended without a commit (its worker stopped) leaves none, and records past the grid's retention are gone.</p>`
      : null
  }<table class="list attempts">
    <thead><tr><th>Attempt</th><th>Started</th><th>Ended</th><th>Duration</th><th>Worker</th><th>Error</th></tr></thead>
    <tbody>${task.attempts.map(
      (a) => html`<tr>
        <td data-label="Attempt" class="num">${a.attempt}</td>
        <td data-label="Started">${a.startedAt ? time(a.startedAt) : "–"}</td>
        <td data-label="Ended">${a.endedAt ? time(a.endedAt) : "running"}</td>
        <td data-label="Duration" class="num">${duration(a.durationMs)}</td>
        <td data-label="Worker" class="id">${a.worker ?? "–"}</td>
        <td data-label="Error" class="message">${a.error ? html`<code>${a.error.code}</code> ${a.error.message}` : "–"}</td>
      </tr>`,
    )}</tbody>
  </table>`;
}

/** The log lines as `time level a<attempt> message fields…`. */
function Logs({ entries }: { entries: LogEntry[] }) {
  if (entries.length === 0) return html`<p class="muted">This task logged nothing.</p>`;
  const skip = new Set([
    "time",
    "level",
    "message",
    "tenant",
    "session",
    "index",
    "attempt",
    "handler",
    "taskId",
  ]);
  return html`<pre class="logs">${entries.map((e) => {
    const extras = Object.entries(e)
      .filter(([k]) => !skip.has(k))
      .map(([k, v]) => ` ${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join("");
    return html`<span class=${`line level-${e.level}`}>${time(e.time).slice(11)} ${e.level.padEnd(5)} a${e.attempt} ${e.message}${extras}</span>`;
  })}</pre>`;
}

/** The task's log lines, page after page (up to MAX_LOG_LINES). */
async function readLogs(sessionId: string, taskId: string): Promise<{ entries: LogEntry[]; more: boolean }> {
  const entries: LogEntry[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await getJson<LogPage>(`/sessions/${seg(sessionId)}/logs`, {
      task: taskId,
      limit: 1_000,
      after,
    });
    entries.push(...page.entries);
    if (!page.more || !page.next || entries.length >= MAX_LOG_LINES)
      return { entries, more: Boolean(page.more) };
    after = page.next;
  }
}

/** The page of task `taskId` of `sessionId`. */
export function TaskPage({ sessionId, taskId }: { sessionId: string; taskId: string }) {
  const path = `/sessions/${seg(sessionId)}/tasks/${seg(taskId)}`;
  const polled = usePoll(
    `${sessionId}/${taskId}`,
    () => getJson<Task>(path),
    (t) => (FINISHED.has(t.status) ? null : 2_000),
  );
  const t = polled.data;
  const running = !t || !FINISHED.has(t.status);
  const logs = usePoll(
    `${sessionId}/${taskId}`,
    () => readLogs(sessionId, taskId),
    () => (running ? 3_000 : null),
  );
  return html`<section>
    <nav class="crumbs"><a href="#/sessions">Sessions</a> / <a class="id" href=${`#/sessions/${seg(sessionId)}`}>${sessionId}</a> /</nav>
    <h1>Task #${taskId}</h1>
    <${Problem} error=${polled.error} retryAt=${polled.retryAt} />
    ${
      t
        ? html`
        <dl class="facts">
          <dt>Status</dt><dd><span class=${`status ${t.status}`} data-testid="task-status">${t.status}</span>${t.cancelRequested && !FINISHED.has(t.status) ? " (cancel requested)" : ""}</dd>
          <dt>Attempt</dt><dd>${t.attempt} of ${t.maxAttempts}</dd>
          <dt>Handler</dt><dd>${t.handler ?? "–"}</dd>
          <dt>Pool</dt><dd>${t.pool} (${t.priority})</dd>
          <dt>Created</dt><dd>${time(t.createdAt)}</dd>
          <dt>Finished</dt><dd>${time(t.finishedAt)}</dd>
        </dl>
        ${t.error ? html`<div class="problem task-error" role="status"><code>${t.error.code}</code> ${t.error.message}</div>` : null}
        <h2>Attempts</h2>
        <${Attempts} task=${t} />
        <h2>Payload</h2>
        ${
          t.payloadPreview === undefined && !t.payloadUrl
            ? html`<p class="unavailable">The payload is not available on this grid.</p>`
            : html`<${Preview} label="payload" text=${t.payloadPreview} cut=${t.payloadTruncated} url=${t.payloadUrl} name=${`${sessionId}-${taskId}-payload.json`} />`
        }
        <h2>Result</h2>
        <${Preview} label="result" text=${t.result} url=${t.resultUrl} name=${`${sessionId}-${taskId}-result.json`} />`
        : !polled.error
          ? html`<p class="muted">Loading…</p>`
          : null
    }
    <h2>Logs</h2>
    ${logs.data ? html`<${Logs} entries=${logs.data.entries} />` : null}
    ${logs.data?.more ? html`<p class="muted">The first ${MAX_LOG_LINES.toLocaleString("en-US")} lines; \`tessera logs ${sessionId} --task ${taskId}\` prints them all.</p>` : null}
    <${Problem} error=${logs.error} retryAt=${logs.retryAt} what="Task logs" />
  </section>`;
}
