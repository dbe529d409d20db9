/** Every route of the HTTP API, in the order the OpenAPI document lists them. */
import { cancelSessionRoute } from "../handlers/cancel-session.ts";
import { cancelTaskRoute } from "../handlers/cancel-task.ts";
import { closeSessionRoute } from "../handlers/close-session.ts";
import { createSessionRoute } from "../handlers/create-session.ts";
import { createUploadsRoute } from "../handlers/create-uploads.ts";
import { getFleetRoute } from "../handlers/get-fleet.ts";
import { getSessionRoute } from "../handlers/get-session.ts";
import { getTaskRoute } from "../handlers/get-task.ts";
import { listSessionsRoute } from "../handlers/list-sessions.ts";
import { listTasksRoute } from "../handlers/list-tasks.ts";
import { readFailuresRoute } from "../handlers/read-failures.ts";
import { readHistoryRoute } from "../handlers/read-history.ts";
import { readLogsRoute } from "../handlers/read-logs.ts";
import { readResultsPostRoute, readResultsRoute } from "../handlers/read-results.ts";
import { submitTasksRoute } from "../handlers/submit-tasks.ts";
import type { Route } from "./route.ts";

export const API_ROUTES: readonly Route[] = [
  createSessionRoute,
  listSessionsRoute,
  getSessionRoute,
  readHistoryRoute,
  readFailuresRoute,
  closeSessionRoute,
  cancelSessionRoute,
  createUploadsRoute,
  submitTasksRoute,
  listTasksRoute,
  getTaskRoute,
  cancelTaskRoute,
  readResultsRoute,
  readResultsPostRoute,
  readLogsRoute,
  getFleetRoute,
];
