import { readResultsPage } from "@tessera/core";
import { defineRoute } from "../http/route.ts";
import { ResultsPageSchema, ResultsQuery, SessionIdParams } from "../http/schemas.ts";
import { resultView } from "../http/views.ts";

/** GET /sessions/{sessionId}/results: what completed since a cursor. */
export const readResultsRoute = defineRoute({
  method: "GET",
  path: "/sessions/{sessionId}/results",
  operationId: "readResults",
  summary: "Read results completed since a cursor",
  description:
    "Returns finished tasks (succeeded, failed, cancelled) after `cursor`, and the cursor to pass next. `limit` is soft: tasks that finished in one commit are never split, so a page may hold a few more. The work of a call follows the new results, not the size of the session. Each result comes once, except in the rare case of more than 512 commits of one 4,096-task group within 5 s, where one may repeat: drop repeated task ids. `settled` is true once the session has been closed or cancelled for a minute and every result was delivered. A cursor expires after 7 days (410).",
  tags: ["results"],
  params: SessionIdParams,
  query: ResultsQuery,
  status: 200,
  response: ResultsPageSchema,
  errors: [404, 410],
  async handle({ runtime, tenant, params, query }) {
    const page = await readResultsPage(
      runtime.ports,
      { tenant, sessionId: params.sessionId },
      { cursor: query.cursor, limit: query.limit },
    );
    const results = await Promise.all(page.outcomes.map((o) => resultView(runtime.ports, o)));
    return { results, cursor: page.cursor, settled: page.settled };
  },
});
