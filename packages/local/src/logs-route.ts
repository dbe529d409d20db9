/**
 * `GET /local/sessions/{sessionId}/logs?after=&task=`: a session's task log entries, served by the
 * local grid's HTTP server only (on AWS they are in CloudWatch Logs and the agents' journals, and
 * the deployed API has no such route). Tenant-scoped as the API is: the bearer token names the
 * tenant, and another tenant's session does not exist for the caller.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { type GridPorts, getSession, isGridError } from "@tessera/core";
import type { Context } from "hono";
import { readSessionLogs } from "./task-logs.ts";

/** What the route needs of the grid. */
export interface LogsRouteOptions {
  dataDir: string;
  /** Bearer token → tenant (the local grid's tokens). */
  tokens: Map<string, string>;
  ports: GridPorts;
}

/** The tenant of a bearer token, compared in constant time per candidate. */
function tenantOf(tokens: Map<string, string>, header: string | undefined): string | undefined {
  const token = header?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  if (!token) return undefined;
  const presented = createHash("sha256").update(token).digest();
  let found: string | undefined;
  for (const [candidate, tenant] of tokens) {
    if (timingSafeEqual(presented, createHash("sha256").update(candidate).digest())) found = tenant;
  }
  return found;
}

/** An error answer, in the API's own shape (`{ error: { code, message, field? } }`). */
function failure(c: Context, status: 400 | 401 | 404, code: string, message: string, field?: string) {
  return c.json({ error: { code, message, ...(field ? { field } : {}) } }, status);
}

/** A whole number ≥ 0 from a query parameter; NaN when it is not one. */
function wholeNumber(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  return value !== "" && Number.isSafeInteger(n) && n >= 0 ? n : Number.NaN;
}

/** The route's handler (a Hono handler). */
export function logsRoute(options: LogsRouteOptions) {
  return async (c: Context): Promise<Response> => {
    const tenant = tenantOf(options.tokens, c.req.header("authorization"));
    if (tenant === undefined)
      return failure(c, 401, "UNAUTHORIZED", "send Authorization: Bearer <token> (the local grid's token)");
    const sessionId = c.req.param("sessionId") ?? "";
    const after = wholeNumber(c.req.query("after"));
    const index = wholeNumber(c.req.query("task"));
    for (const [field, value] of [
      ["after", after],
      ["task", index],
    ] as const)
      if (Number.isNaN(value))
        return failure(c, 400, "VALIDATION", `${field}: must be a whole number ≥ 0`, field);
    try {
      await getSession(options.ports, { tenant, sessionId }); // validates the id; 404 for others' sessions
    } catch (error) {
      if (isGridError(error, "NOT_FOUND")) return failure(c, 404, "NOT_FOUND", error.message);
      if (isGridError(error, "VALIDATION"))
        return failure(c, 400, "VALIDATION", error.message, (error as { field?: string }).field);
      throw error;
    }
    return c.json(readSessionLogs(options.dataDir, tenant, sessionId, { after, index }));
  };
}
