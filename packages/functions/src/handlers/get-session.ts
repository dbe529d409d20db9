import { getSessionProgress } from "@tessera/core";
import { defineRoute, NoParams } from "../http/route.ts";
import { SessionDetailSchema, SessionIdParams } from "../http/schemas.ts";
import { sessionView } from "../http/views.ts";

/** GET /sessions/{sessionId}: a session with its task counts. */
export const getSessionRoute = defineRoute({
  method: "GET",
  path: "/sessions/{sessionId}",
  operationId: "getSession",
  summary: "Get a session with task counts and progress",
  description:
    "Counts are exact, read from the task records: the work grows with the session (one query per 4,096 tasks). Poll results for incremental progress.",
  tags: ["sessions"],
  params: SessionIdParams,
  query: NoParams,
  status: 200,
  response: SessionDetailSchema,
  errors: [404],
  async handle({ runtime, tenant, params }) {
    const p = await getSessionProgress(runtime.ports, { tenant, sessionId: params.sessionId });
    return { ...sessionView(p.session), counts: p.counts, progress: p.fraction, settled: p.settled };
  },
});
