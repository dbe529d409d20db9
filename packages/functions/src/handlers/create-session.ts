import { createSession } from "@tessera/core";
import { defineRoute, NoParams } from "../http/route.ts";
import { CreateSessionBody, CreateSessionResponse } from "../http/schemas.ts";
import { sessionView } from "../http/views.ts";

/** POST /sessions: creates a session (idempotent on its id). */
export const createSessionRoute = defineRoute({
  method: "POST",
  path: "/sessions",
  operationId: "createSession",
  summary: "Create a session",
  description:
    "Creates a session with its defaults (pool, priority, maxAttempts, lease, chunking, backoff) and tags. Creating an existing session id again returns the stored session with `created: false` when the request asks for nothing else; one that gives a config field or tags other than the stored ones is refused with 409 `CONFLICT` naming the field (e.g. `config.pool`), and nothing changes: a session's settings never change under its tasks.",
  tags: ["sessions"],
  params: NoParams,
  query: NoParams,
  body: CreateSessionBody,
  status: 201,
  response: CreateSessionResponse,
  errors: [409, 413, 415],
  async handle({ runtime, tenant, body }) {
    const { session, created } = await createSession(runtime.ports, tenant, body);
    return { session: sessionView(session), created };
  },
});
