import { getTask } from "@tessera/core";
import { defineRoute, NoParams } from "../http/route.ts";
import { TaskParams, TaskSchema } from "../http/schemas.ts";
import { taskView } from "../http/views.ts";

/** GET /sessions/{sessionId}/tasks/{taskId}: one task, with its result once finished. */
export const getTaskRoute = defineRoute({
  method: "GET",
  path: "/sessions/{sessionId}/tasks/{taskId}",
  operationId: "getTask",
  summary: "Get a task",
  tags: ["tasks"],
  params: TaskParams,
  query: NoParams,
  status: 200,
  response: TaskSchema,
  errors: [404],
  async handle({ runtime, tenant, params }) {
    return taskView(
      runtime.ports,
      await getTask(runtime.ports, { tenant, sessionId: params.sessionId }, Number(params.taskId)),
    );
  },
});
