import { getSession, NotFoundError } from "@tessera/core";
import { defineRoute } from "../http/route.ts";
import { LogsQuery, SessionIdParams, TaskLogPageSchema } from "../http/schemas.ts";

/** GET /sessions/{sessionId}/logs: what a session's task code logged, page by page. */
export const readLogsRoute = defineRoute({
  method: "GET",
  path: "/sessions/{sessionId}/logs",
  operationId: "readLogs",
  summary: "Read the lines a session's tasks logged",
  description:
    "Entries task code logged through `ctx.logger`, oldest first, after `after`; with `task`, one task's only. Read from wherever the grid keeps them: the local grid's session files, or CloudWatch Logs on AWS (the worker function's log group and the agents' group), where an entry shows up a few seconds after it was logged. `next` is always given: pass it back as `after`, at once while `more` is true, else after a pause to follow a running session. A call does bounded work (one CloudWatch Logs search per log group), so a page may be empty while `more` is true.",
  tags: ["sessions"],
  params: SessionIdParams,
  query: LogsQuery,
  status: 200,
  response: TaskLogPageSchema,
  errors: [404],
  async handle({ runtime, tenant, params, query, signal }) {
    // Another tenant's session does not exist for the caller, whatever the logs hold.
    const session = await getSession(runtime.ports, { tenant, sessionId: params.sessionId });
    if (!runtime.logs)
      throw new NotFoundError(
        "logs",
        "this grid keeps no task logs the API can read (TESSERA_TASK_LOG_GROUPS is unset)",
      );
    return runtime.logs.read(tenant, params.sessionId, {
      index: query.task === undefined ? undefined : Number(query.task),
      after: query.after,
      limit: query.limit,
      since: session.createdAt,
      signal,
    });
  },
});
