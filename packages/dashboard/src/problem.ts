/**
 * What the page says when a load failed: a refused credential with the command that fixes it,
 * an unreachable grid with the next retry, a route this grid lacks, or the API's message.
 */
import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import type { ApiError } from "./api.ts";

/** Seconds until `at`, refreshed every second. */
function useCountdown(at: number | undefined): number | undefined {
  const [, tick] = useState(0);
  useEffect(() => {
    if (at === undefined) return;
    const timer = setInterval(() => tick((n) => n + 1), 1_000);
    return () => clearInterval(timer);
  }, [at]);
  return at === undefined ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1_000));
}

/** The banner for `error` (nothing without one); `what` names the missing part for "unavailable". */
export function Problem({
  error,
  retryAt,
  what,
}: {
  error?: ApiError | undefined;
  retryAt?: number | undefined;
  what?: string;
}) {
  const seconds = useCountdown(retryAt);
  if (!error) return null;
  const retry = seconds === undefined ? "" : seconds > 0 ? ` Retrying in ${seconds} s…` : " Retrying…";
  if (error.kind === "credentials")
    return html`<div class="problem credentials" role="alert">
      <strong>The grid refused the dashboard's credentials.</strong> ${error.message}.
      ${error.hint ? html`<p>To fix it: <code class="fix">${error.hint}</code></p>` : null}
    </div>`;
  if (error.kind === "unreachable")
    return html`<div class="problem unreachable" role="alert">
      <strong>Grid unreachable.</strong> ${error.message}.${retry}
    </div>`;
  if (error.kind === "unavailable")
    return html`<p class="unavailable">${what ?? "This view"} is not available on this grid (its API is older than this dashboard).</p>`;
  return html`<div class="problem" role="alert">${error.message}${error.field ? ` (field ${error.field})` : ""}.${retry}</div>`;
}
