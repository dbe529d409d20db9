import { readSessionHistory } from "@tessera/core";
import { defineRoute, NoParams } from "../http/route.ts";
import { HistorySchema, SessionIdParams } from "../http/schemas.ts";

/** GET /sessions/{sessionId}/history: task counts over time, for a chart. */
export const readHistoryRoute = defineRoute({
  method: "GET",
  path: "/sessions/{sessionId}/history",
  operationId: "readHistory",
  summary: "Task counts over time",
  description:
    "Snapshots of the session's task counts, oldest first, ending with the counts now: at most 500 points, evenly thinned from the newest 4,000 snapshots. The reaper writes a snapshot of each active session on its passes (about once a minute on AWS) when the spacing for the session's age has passed (10 s, growing to 5 min as the session ages) and the counts moved: one small write per session per pass at most, none while nothing moves, none per task. A read is one query of small items and the counter shards.",
  tags: ["sessions"],
  params: SessionIdParams,
  query: NoParams,
  status: 200,
  response: HistorySchema,
  errors: [404],
  async handle({ runtime, tenant, params }) {
    const h = await readSessionHistory(runtime.ports, { tenant, sessionId: params.sessionId });
    return {
      points: h.points.map(({ at, ...counts }) => ({ at: new Date(at).toISOString(), ...counts })),
      intervalSec: h.intervalSec,
      complete: h.complete,
    };
  },
});
