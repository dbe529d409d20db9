import { cancelSession } from "@tessera/core";
import { defineRoute, NoParams } from "../http/route.ts";
import { CancelSessionResponse, SessionIdParams } from "../http/schemas.ts";
import { sessionView } from "../http/views.ts";

/** Chunks one cancel request walks before leaving the rest to the reaper. */
const CANCEL_WALK_CHUNKS = 2_000;

/** POST /sessions/{sessionId}/cancel: queued tasks never start, running ones are aborted. */
export const cancelSessionRoute = defineRoute({
  method: "POST",
  path: "/sessions/{sessionId}/cancel",
  operationId: "cancelSession",
  summary: "Cancel a session",
  description:
    "From this call on no task of the session starts. Queued tasks become CANCELLED, running ones are aborted at their next heartbeat, finished ones keep their results. For very large sessions the reaper finishes the walk (`complete: false`).",
  tags: ["sessions"],
  params: SessionIdParams,
  query: NoParams,
  status: 200,
  response: CancelSessionResponse,
  errors: [404],
  async handle({ runtime, tenant, params }) {
    const report = await cancelSession(
      runtime.ports,
      { tenant, sessionId: params.sessionId },
      { maxChunks: CANCEL_WALK_CHUNKS },
    );
    return { ...report, session: sessionView(report.session) };
  },
});
