import { cancelTask } from "@tessera/core";
import { defineRoute, NoParams } from "../http/route.ts";
import { TaskParams, TaskSchema } from "../http/schemas.ts";
import { taskView } from "../http/views.ts";

/** POST /sessions/{sessionId}/tasks/{taskId}/cancel. */
export const cancelTaskRoute = defineRoute({
  method: "POST",
  path: "/sessions/{sessionId}/tasks/{taskId}/cancel",
  operationId: "cancelTask",
  summary: "Cancel a task",
  description:
    "A queued task becomes CANCELLED and never starts; a running one is aborted at its worker's next heartbeat (`cancelRequested`); a finished one keeps its result.",
  tags: ["tasks"],
  params: TaskParams,
  query: NoParams,
  status: 200,
  response: TaskSchema,
  errors: [404],
  async handle({ runtime, tenant, params }) {
    return taskView(
      runtime.ports,
      await cancelTask(runtime.ports, { tenant, sessionId: params.sessionId }, Number(params.taskId)),
    );
  },
});
