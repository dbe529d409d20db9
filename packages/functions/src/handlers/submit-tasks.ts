import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { submitTasks } from "@tessera/core";
import { checkHandler } from "../handler-catalogue.ts";
import { defineRoute, NoParams } from "../http/route.ts";
import { SessionIdParams, SubmitTasksBody, SubmitTasksResponse } from "../http/schemas.ts";

/** POST /sessions/{sessionId}/tasks: submits a batch (idempotent). */
export const submitTasksRoute = defineRoute({
  method: "POST",
  path: "/sessions/{sessionId}/tasks",
  operationId: "submitTasks",
  summary: "Submit a batch of tasks",
  description:
    "Task ids are the caller's indexes, so sending the same work again (after a timeout or error, in the same or other batches) creates nothing twice: `created` and `createdSpans` say what this call added, `existing` what was already stored with the same handler and payload. An index already stored with other work (another payload, upload or handler) is refused with 409 `CONFLICT` naming the first such task (`field`, e.g. `tasks[37]`), and nothing of the batch is stored; concurrent batches racing for the same indexes never both land. A closed or cancelled session refuses tasks (409 `SESSION_NOT_OPEN`). `handler` must be a task type the session's pool runs, and may be left out only when the pool has a default task: otherwise 400 naming `handler` (with the pool and the task types it runs), and nothing is stored; a pool served by code the grid cannot see (external agents) accepts any name.",
  tags: ["tasks"],
  params: SessionIdParams,
  query: NoParams,
  body: SubmitTasksBody,
  status: 200,
  response: SubmitTasksResponse,
  errors: [404, 409, 413, 415],
  async handle({ runtime, tenant, params, body, metrics, signal }) {
    const { pool, ...report } = await submitTasks(
      runtime.ports,
      { tenant, sessionId: params.sessionId },
      body,
      { signal, checkHandler: (pool, handler) => checkHandler(runtime.handlers, pool, handler) },
    );
    metrics.addMetric("TasksSubmitted", MetricUnit.Count, report.created);
    // Work for agents: the fleet scaler starts at once instead of at its next scheduled pass.
    if (report.tickets > 0) await runtime.onAgentWork?.(pool);
    return report;
  },
});
