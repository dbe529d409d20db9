/** Every route of the HTTP API, in the order the OpenAPI document lists them. */
import { cancelSessionRoute } from "../handlers/cancel-session.ts";
import { cancelTaskRoute } from "../handlers/cancel-task.ts";
import { closeSessionRoute } from "../handlers/close-session.ts";
import { createSessionRoute } from "../handlers/create-session.ts";
import { createUploadsRoute } from "../handlers/create-uploads.ts";
import { getSessionRoute } from "../handlers/get-session.ts";
import { getTaskRoute } from "../handlers/get-task.ts";
import { listSessionsRoute } from "../handlers/list-sessions.ts";
import { readResultsPostRoute, readResultsRoute } from "../handlers/read-results.ts";
import { submitTasksRoute } from "../handlers/submit-tasks.ts";
import type { Route } from "./route.ts";

export const API_ROUTES: readonly Route[] = [
  createSessionRoute,
  listSessionsRoute,
  getSessionRoute,
  closeSessionRoute,
  cancelSessionRoute,
  createUploadsRoute,
  submitTasksRoute,
  getTaskRoute,
  cancelTaskRoute,
  readResultsRoute,
  readResultsPostRoute,
];
