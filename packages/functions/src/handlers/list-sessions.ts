import { listSessionsWhere, summarizeSessions } from "@tessera/core";
import { defineRoute, NoParams } from "../http/route.ts";
import { ListSessionsQuery, SessionListSchema } from "../http/schemas.ts";
import { sessionView } from "../http/views.ts";

/** GET /sessions: the caller's sessions, newest first, filtered and summarized on request. */
export const listSessionsRoute = defineRoute({
  method: "GET",
  path: "/sessions",
  operationId: "listSessions",
  summary: "List sessions, newest first",
  description:
    "Without a filter a page costs one index query and one batch read of the sessions. `state` and `tag` filter the sessions read: one call reads at most 500, so a filtered page may hold fewer than `limit` (even none) while `next` says more follow. `include=summary` adds each session's counts, progress, cost and throughput: three more reads per session (its counter shards, its usage shards and its newest history snapshots), whatever its size.",
  tags: ["sessions"],
  params: NoParams,
  query: ListSessionsQuery,
  status: 200,
  response: SessionListSchema,
  errors: [],
  async handle({ runtime, tenant, query }) {
    const page = await listSessionsWhere(runtime.ports, tenant, {
      limit: query.limit,
      after: query.after,
      filter: { state: query.state, tag: query.tag },
    });
    const summaries =
      query.include === "summary" ? await summarizeSessions(runtime.ports, page.sessions) : undefined;
    const sessions = page.sessions.map((s, i) => ({ ...sessionView(s), summary: summaries?.[i] }));
    return { sessions, next: page.next };
  },
});
