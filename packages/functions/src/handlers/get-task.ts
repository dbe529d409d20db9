import { getTask, Limits } from "@tessera/core";
import { defineRoute, NoParams } from "../http/route.ts";
import { TaskParams, TaskSchema } from "../http/schemas.ts";
import { taskView } from "../http/views.ts";

/** GET /sessions/{sessionId}/tasks/{taskId}: one task, with its result once finished. */
export const getTaskRoute = defineRoute({
  method: "GET",
  path: "/sessions/{sessionId}/tasks/{taskId}",
  operationId: "getTask",
  summary: "Get a task",
  description:
    "Reads the task's chunk record, the completion entry of a finished task, and, for an input submitted inline, the chunk's payload object (one S3 read of at most the chunk's payload size) for `payloadPreview`. No write.",
  tags: ["tasks"],
  params: TaskParams,
  query: NoParams,
  status: 200,
  response: TaskSchema,
  errors: [404],
  async handle({ runtime, tenant, params }) {
    const key = { tenant, sessionId: params.sessionId };
    const { payload, ...task } = await getTask(runtime.ports, key, Number(params.taskId), { payload: true });
    return {
      ...(await taskView(runtime.ports, task)),
      ...(payload?.kind === "inline" && {
        payloadPreview: payload.preview,
        payloadTruncated: payload.truncated,
      }),
      ...(payload?.kind === "uploaded" && {
        payloadUrl: await runtime.ports.blobs.link(payload.blobKey, "GET", Limits.LINK_SECONDS),
      }),
    };
  },
});
