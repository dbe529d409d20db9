/**
 * The reaper (scheduled): the grid's safety net. Re-drives chunks whose lease expired or whose
 * ticket was lost or never sent, finishes cancellation walks, handles dead-lettered tickets (only
 * tasks whose attempts are used up fail; the rest are queued again), and drops settled and idle
 * sessions from the active index. Each pass is time-boxed and the next starts where it stopped.
 */
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { type ReapReport, type ReapResume, reap, type SessionWalk } from "@tessera/core";
import type { Context, ScheduledEvent } from "aws-lambda";
import { withObservability } from "./middleware.ts";
import { createObservability, type Observability } from "./observability.ts";
import type { GridRuntime } from "./runtime.ts";

/** How long one pass may start sessions: the schedule is every minute. */
const PASS_BUDGET_MS = 40_000;

/** Builds the reaper handler over a runtime (created on first use, kept per container). */
export function createReaperHandler(
  runtime: () => GridRuntime,
  o: Observability = createObservability("tessera-reaper"),
) {
  // Where each session's walk over its groups stands, and where the last pass stopped, kept
  // while the container lives (a new container starts from the first session).
  const walks = new Map<string, SessionWalk>();
  const resume: ReapResume = {};
  const handle = async (_event: ScheduledEvent, context: Context): Promise<ReapReport> => {
    // A pass ends well before the next one is scheduled (every minute), so passes never pile up.
    const budgetMs = Math.min(PASS_BUDGET_MS, context.getRemainingTimeInMillis() - 10_000);
    const report = await reap(runtime().ports, { walks, resume, budgetMs });
    o.metrics.addMetric("ChunksRedriven", MetricUnit.Count, report.redriven);
    o.metrics.addMetric("TasksDeadLettered", MetricUnit.Count, report.deadLettered);
    o.metrics.addMetric("ReaperErrors", MetricUnit.Count, report.errors);
    if (report.errors > 0) o.logger.warn("reaper pass had errors; the next pass retries", { ...report });
    else o.logger.info("reaper pass", { ...report });
    return report;
  };
  return withObservability(handle, o, (event) => event.id);
}
