import { closeSession } from "@tessera/core";
import { defineRoute, NoParams } from "../http/route.ts";
import { SessionIdParams, SessionSchema } from "../http/schemas.ts";
import { sessionView } from "../http/views.ts";

/** POST /sessions/{sessionId}/close: no more tasks; the submitted ones finish. */
export const closeSessionRoute = defineRoute({
  method: "POST",
  path: "/sessions/{sessionId}/close",
  operationId: "closeSession",
  summary: "Close a session: it accepts no more tasks, and its tasks finish",
  description:
    "Closing seals the session: no task can be added any more (a submit racing the close is refused), so result readers and `GET /sessions/{id}` report `settled` as soon as every task finished.",
  tags: ["sessions"],
  params: SessionIdParams,
  query: NoParams,
  status: 200,
  response: SessionSchema,
  errors: [404],
  async handle({ runtime, tenant, params }) {
    return sessionView(await closeSession(runtime.ports, { tenant, sessionId: params.sessionId }));
  },
});
