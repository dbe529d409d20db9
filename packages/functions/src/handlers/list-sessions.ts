import { defineRoute, NoParams } from "../http/route.ts";
import { ListSessionsQuery, SessionListSchema } from "../http/schemas.ts";
import { sessionView } from "../http/views.ts";

/** GET /sessions: the caller's sessions, newest first. */
export const listSessionsRoute = defineRoute({
  method: "GET",
  path: "/sessions",
  operationId: "listSessions",
  summary: "List sessions, newest first",
  tags: ["sessions"],
  params: NoParams,
  query: ListSessionsQuery,
  status: 200,
  response: SessionListSchema,
  errors: [],
  async handle({ runtime, tenant, query }) {
    const page = await runtime.ports.store.listSessions(tenant, query.limit, query.after);
    return { sessions: page.sessions.map(sessionView), next: page.next };
  },
});
