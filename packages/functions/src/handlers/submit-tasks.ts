import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { submitTasks } from "@tessera/core";
import { defineRoute, NoParams } from "../http/route.ts";
import { SessionIdParams, SubmitTasksBody, SubmitTasksResponse } from "../http/schemas.ts";

/** POST /sessions/{sessionId}/tasks: submits a batch (idempotent). */
export const submitTasksRoute = defineRoute({
  method: "POST",
  path: "/sessions/{sessionId}/tasks",
  operationId: "submitTasks",
  summary: "Submit a batch of tasks",
  description:
    "Task ids are the caller's indexes, so sending the same batch again (after a timeout or error) creates nothing twice: `created` and `createdSpans` say what this call added, `existing` what an earlier try already had. A batch overlapping a different earlier batch is rejected.",
  tags: ["tasks"],
  params: SessionIdParams,
  query: NoParams,
  body: SubmitTasksBody,
  status: 200,
  response: SubmitTasksResponse,
  errors: [404, 409, 413, 415],
  async handle({ runtime, tenant, params, body, metrics }) {
    const { pool, ...report } = await submitTasks(
      runtime.ports,
      { tenant, sessionId: params.sessionId },
      body,
    );
    metrics.addMetric("TasksSubmitted", MetricUnit.Count, report.created);
    // Work for agents: the fleet scaler starts at once instead of at its next scheduled pass.
    if (report.tickets > 0) await runtime.onAgentWork?.(pool);
    return report;
  },
});
