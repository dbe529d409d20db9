/**
 * The reaper (scheduled): the grid's safety net. Re-drives chunks whose lease expired or whose
 * ticket was lost or never sent, finishes cancellation walks, turns dead-lettered tickets into
 * FAILED tasks, and drops settled sessions from the active index.
 */
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { type ReapReport, reap, type SessionWalk } from "@tessera/core";
import type { Context, ScheduledEvent } from "aws-lambda";
import { withObservability } from "./middleware.ts";
import { createObservability, type Observability } from "./observability.ts";
import type { GridRuntime } from "./runtime.ts";

/** Builds the reaper handler over a runtime (created on first use, kept per container). */
export function createReaperHandler(
  runtime: () => GridRuntime,
  o: Observability = createObservability("tessera-reaper"),
) {
  // Where each session's walk over its groups stands, kept while the container lives.
  const walks = new Map<string, SessionWalk>();
  const handle = async (_event: ScheduledEvent, _context: Context): Promise<ReapReport> => {
    const report = await reap(runtime().ports, { walks });
    o.metrics.addMetric("ChunksRedriven", MetricUnit.Count, report.redriven);
    o.metrics.addMetric("TasksDeadLettered", MetricUnit.Count, report.deadLettered);
    o.metrics.addMetric("ReaperErrors", MetricUnit.Count, report.errors);
    if (report.errors > 0) o.logger.warn("reaper pass had errors; the next pass retries", { ...report });
    else o.logger.info("reaper pass", { ...report });
    return report;
  };
  return withObservability(handle, o, (event) => event.id);
}
