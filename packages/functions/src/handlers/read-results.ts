import { type GridPorts, readResultsPage } from "@tessera/core";
import { z } from "zod";
import { defineRoute, NoParams } from "../http/route.ts";
import { ResultsPageSchema, ResultsQuery, SessionIdParams } from "../http/schemas.ts";
import { resultView } from "../http/views.ts";

const DESCRIPTION =
  "Returns finished tasks (succeeded, failed, cancelled) after `cursor`, and the cursor to pass next. `limit` is soft: tasks that finished in one commit are never split, so a page may hold a few more. The work of a call follows the new results, not the size of the session: it reads at most 128 key groups (4,096 task indexes each) and the next call resumes the walk, so a page may be empty while results are still coming. Each result comes exactly once along a chain of cursors, whatever the clocks of the workers (a result stamped up to a minute back by a worker whose clock is behind is delivered by a periodic re-read of its group, at the latest when its group finishes). `settled` is true once the session is closed or cancelled and every result was delivered: nothing more will come. A cursor expires after 7 days (410).";

async function page(
  ports: GridPorts,
  tenant: string,
  sessionId: string,
  cursor: string | undefined,
  limit: number,
) {
  const read = await readResultsPage(ports, { tenant, sessionId }, { cursor, limit });
  const results = await Promise.all(read.outcomes.map((o) => resultView(ports, o)));
  return { results, cursor: read.cursor, settled: read.settled };
}

/** GET /sessions/{sessionId}/results: what completed since a cursor. */
export const readResultsRoute = defineRoute({
  method: "GET",
  path: "/sessions/{sessionId}/results",
  operationId: "readResults",
  summary: "Read results completed since a cursor",
  description: DESCRIPTION,
  tags: ["results"],
  params: SessionIdParams,
  query: ResultsQuery,
  status: 200,
  response: ResultsPageSchema,
  errors: [404, 410],
  handle: ({ runtime, tenant, params, query }) =>
    page(runtime.ports, tenant, params.sessionId, query.cursor, query.limit),
});

export const ReadResultsBody = ResultsQuery.extend({
  cursor: z
    .string()
    .max(1024 * 1024)
    .optional(),
}).meta({
  id: "ReadResultsRequest",
});

/**
 * POST /sessions/{sessionId}/results: the same read with the cursor in the body, where no URL
 * length limit applies (a session with thousands of key groups in progress has a long cursor).
 */
export const readResultsPostRoute = defineRoute({
  method: "POST",
  path: "/sessions/{sessionId}/results",
  operationId: "readResultsWithBody",
  summary: "Read results completed since a cursor (cursor in the body)",
  description: `${DESCRIPTION} Same as the GET, for cursors too long for a URL; the SDK always uses it.`,
  tags: ["results"],
  params: SessionIdParams,
  query: NoParams,
  body: ReadResultsBody,
  status: 200,
  response: ResultsPageSchema,
  errors: [404, 410, 413, 415],
  handle: ({ runtime, tenant, params, body }) =>
    page(runtime.ports, tenant, params.sessionId, body.cursor, body.limit),
});
