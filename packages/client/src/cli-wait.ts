/**
 * The parts of `tessera wait` beyond the SDK's wait: what it shows while polling, and why
 * tasks failed once the session settled.
 */
import cliProgress from "cli-progress";
import { formatEta } from "./cli-format.ts";
import { type FailureSummary, summarizeFailures } from "./failure-summary.ts";
import type { Session } from "./session.ts";
import type { SessionStatus } from "./types.ts";

/**
 * The failed and cancelled tasks of a settled session, by error code. The API cannot list the
 * failures alone: this reads the session's results stream, passing over the succeeded ones
 * without fetching their outputs, and only when the counts say there are failures.
 */
export function failuresOf(session: Session, status: SessionStatus): Promise<FailureSummary> {
  if (status.counts.failed + status.counts.cancelled === 0)
    return Promise.resolve({ failed: 0, cancelled: 0, byCode: [] });
  return summarizeFailures(session.results({ failuresOnly: true }), { examples: 3 });
}

/**
 * What `wait` shows while it polls: a progress bar on a terminal (rate and eta from what
 * finished since the wait began, `--` before anything did), and, once, on any stderr, that
 * an open session has nothing left to run: wait cannot end before it is closed, and the
 * user may not know it is open (an interrupted submit, one without --close).
 */
export function progressReporter(sessionId: string, tty: boolean) {
  const bar = tty
    ? new cliProgress.SingleBar(
        {
          format: "  {bar} {value}/{total}  ✓ {succeeded}  ✗ {failed}  ⊘ {cancelled}  {rate}/s  eta {left}",
          stream: process.stderr,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let base: { at: number; finished: number } | undefined;
  let shown = false;
  let told = false;
  return {
    update(s: SessionStatus): void {
      const c = s.counts;
      const finished = c.succeeded + c.failed + c.cancelled;
      const now = Date.now();
      base ??= { at: now, finished };
      const seconds = (now - base.at) / 1000;
      const perSecond = seconds > 0 ? (finished - base.finished) / seconds : 0;
      const payload = {
        succeeded: c.succeeded,
        failed: c.failed,
        cancelled: c.cancelled,
        rate: Math.round(perSecond),
        left: formatEta(c.total - finished, perSecond),
      };
      if (bar && !shown) bar.start(c.total, finished, payload);
      shown = true;
      bar?.setTotal(c.total);
      bar?.update(finished, payload);
      if (!told && s.state === "OPEN" && c.queued + c.running === 0) {
        told = true;
        // Below the bar, which redraws on the next line.
        process.stderr.write(
          `${bar ? "\n" : ""}tessera: ${sessionId} is still OPEN with nothing queued or running (${finished} of ${c.total} finished); wait ends once it is closed. If no more tasks are coming: tessera close ${sessionId}\n`,
        );
      }
    },
    stop(): void {
      bar?.stop();
    },
  };
}
