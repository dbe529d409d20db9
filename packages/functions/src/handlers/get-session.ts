import { getSessionProgress } from "@tessera/core";
import { priceSessionUsage } from "@tessera/core/metering";
import { defineRoute, NoParams } from "../http/route.ts";
import { SessionDetailSchema, SessionIdParams } from "../http/schemas.ts";
import { sessionView } from "../http/views.ts";

/** GET /sessions/{sessionId}: a session with its task counts. */
export const getSessionRoute = defineRoute({
  method: "GET",
  path: "/sessions/{sessionId}",
  operationId: "getSession",
  summary: "Get a session with task counts, progress and cost",
  description:
    "Counts are exact, read from the task records: the work grows with the session (one query per 4,096 tasks). Poll results for incremental progress.",
  tags: ["sessions"],
  params: SessionIdParams,
  query: NoParams,
  status: 200,
  response: SessionDetailSchema,
  errors: [404],
  async handle({ runtime, tenant, params }) {
    const key = { tenant, sessionId: params.sessionId };
    const [p, usage] = await Promise.all([
      getSessionProgress(runtime.ports, key),
      runtime.ports.store.getUsage(key),
    ]);
    return {
      ...sessionView(p.session),
      counts: p.counts,
      progress: p.fraction,
      settled: p.settled,
      cost: priceSessionUsage(usage),
    };
  },
});
