import { summarizeFailures } from "@tessera/core";
import { defineRoute } from "../http/route.ts";
import { FailureSummarySchema, FailuresQuery, SessionIdParams } from "../http/schemas.ts";

/** GET /sessions/{sessionId}/failures: why tasks failed, grouped by error code. */
export const readFailuresRoute = defineRoute({
  method: "GET",
  path: "/sessions/{sessionId}/failures",
  operationId: "readFailures",
  summary: "Failed tasks grouped by error code",
  description:
    "Groups the session's failed tasks by error code (largest first, at most `limit` codes), each with its first message and up to 10 task ids, and counts the tasks that needed more than one attempt. `totalFailed` is exact. The rest is read from the task records: one call reads the chunk records of the first 64 key groups (a small item per up to 64 tasks) and the completion entries of the first 256 chunks holding failures, so for a huge session the groups come from that sample (`complete: false`). No write.",
  tags: ["tasks"],
  params: SessionIdParams,
  query: FailuresQuery,
  status: 200,
  response: FailureSummarySchema,
  errors: [404],
  handle: ({ runtime, tenant, params, query }) =>
    summarizeFailures(runtime.ports, { tenant, sessionId: params.sessionId }, { maxGroups: query.limit }),
});
