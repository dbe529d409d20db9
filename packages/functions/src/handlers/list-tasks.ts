import { listTasks } from "@tessera/core";
import { defineRoute } from "../http/route.ts";
import { SessionIdParams, TaskListQuery, TaskListSchema } from "../http/schemas.ts";

/** GET /sessions/{sessionId}/tasks: a session's tasks by status, in index order or slowest first. */
export const listTasksRoute = defineRoute({
  method: "GET",
  path: "/sessions/{sessionId}/tasks",
  operationId: "listTasks",
  summary: "List tasks by status, in index order or slowest first",
  description:
    "`order=index` (default) walks the task records from `after`: one call reads the chunk records of at most 16 key groups (65,536 task indexes) and the completion entries of the finished tasks it returns, and gives `next` to go on (a page may hold fewer than `limit` while more follow). `order=slowest` ranks finished tasks (all, or `status` SUCCEEDED, FAILED or CANCELLED) by how long their last run took: it reads at most 1,000 completion entries, the session's earliest-finished tasks, and says `complete: false` when there were more; it never pages. Tasks finished without running (cancelled while queued, failed by the reaper) have no duration and are not ranked. `QUEUED` includes tasks under an expired lease. No write.",
  tags: ["tasks"],
  params: SessionIdParams,
  query: TaskListQuery,
  status: 200,
  response: TaskListSchema,
  errors: [404],
  async handle({ runtime, tenant, params, query }) {
    const page = await listTasks(
      runtime.ports,
      { tenant, sessionId: params.sessionId },
      {
        status: query.status,
        order: query.order,
        limit: query.limit,
        after: query.after === undefined ? undefined : Number(query.after),
      },
    );
    return {
      tasks: page.tasks.map((t) => ({
        ...t,
        finishedAt: t.finishedAt === undefined ? undefined : new Date(t.finishedAt).toISOString(),
      })),
      next: page.next,
      complete: page.complete,
    };
  },
});
