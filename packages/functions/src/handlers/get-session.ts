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
    "Counts are exact: the session's counters move in the same atomic write as every task's change of state, so a read costs the same few read units whatever the session's size. `running` counts tasks under a lease (a lease whose worker died counts until its tasks are claimed again). `settled` is true once the session is closed or cancelled and every task finished: nothing will change any more.",
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
