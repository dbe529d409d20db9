/**
 * The dashboard's local server (`tessera dashboard`, and `npm start` for the local grid): serves
 * the built front end and forwards the API calls it makes to the configured grid, adding the
 * CLI's own credential — the bearer token, or a SigV4 signature per request — so that no
 * credential ever reaches the browser (the way `kubectl proxy` works).
 *
 * Because it holds a credential, it answers only its own pages: it binds 127.0.0.1, refuses a
 * Host other than its own (DNS rebinding), refuses a foreign Origin and any state-changing request
 * without its own Origin (CSRF from another site), and forwards only the few API routes the
 * dashboard uses: reading, and closing or cancelling a session.
 */
import { existsSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import { serveStatic } from "@hono/node-server/serve-static";
import { type Context, Hono } from "hono";
import type { RequestSigner } from "./http.ts";
import { UsageError } from "./profile.ts";

/** Port of `tessera dashboard` when none is given (the local grid's API is on 8787). */
export const DEFAULT_DASHBOARD_PORT = 8790;

/** Where the front end calls the API: `/api/sessions` is forwarded as `<endpoint>/sessions`. */
export const API_PREFIX = "/api";

/** Longest wait for the grid on one forwarded request. */
const UPSTREAM_TIMEOUT_MS = 30_000;

const ID = "[A-Za-z0-9_.-]{1,64}";

/** The API routes the dashboard may call, and nothing else (no submit, no session creation). */
const ALLOWED_ROUTES: ReadonlyArray<readonly [string, RegExp]> = [
  ["GET", /^\/sessions$/],
  ["GET", /^\/fleet$/],
  ["GET", new RegExp(`^/sessions/${ID}$`)],
  ["GET", new RegExp(`^/sessions/${ID}/(failures|history|tasks|logs)$`)],
  ["GET", new RegExp(`^/sessions/${ID}/tasks/\\d{1,12}$`)],
  ["POST", new RegExp(`^/sessions/${ID}/(close|cancel)$`)],
];

/** Whether `method path` (the API's own path) is a route the dashboard may call. */
export function isAllowedApiRoute(method: string, path: string): boolean {
  // A "." or ".." segment would be resolved away upstream into some other route.
  if (path.split("/").some((segment) => segment === "." || segment === "..")) return false;
  return ALLOWED_ROUTES.some(([m, pattern]) => m === method && pattern.test(path));
}

/** How the server reaches the grid. */
export interface DashboardUpstream {
  /** The API's base URL. */
  endpoint: string;
  /** Bearer token (local grid, JWT grids). */
  token?: string | undefined;
  /** Signs each request instead (IAM grids). */
  signer?: RequestSigner | undefined;
  /** The command that fixes a refused credential, shown on the page (it depends on how the CLI was configured). */
  credentialHint: string;
}

/** Options of {@link startDashboardServer}. */
export interface DashboardServerOptions extends DashboardUpstream {
  /** Port on 127.0.0.1; 0 picks a free one. @default DEFAULT_DASHBOARD_PORT */
  port?: number;
  /** The built front end. @default {@link dashboardAssetsDir}() */
  assetsDir?: string;
  /** fetch implementation (tests). @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** A listening dashboard server. */
export interface DashboardServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * The built front end: the packed CLI carries it in `dashboard/`, the repository builds it into
 * packages/dashboard/dist (`npm install` does); undefined when neither exists.
 */
export function dashboardAssetsDir(): string | undefined {
  const candidates = [
    fileURLToPath(new URL("../dashboard/", import.meta.url)),
    fileURLToPath(new URL("../../dashboard/dist/", import.meta.url)),
  ];
  return candidates.find((dir) => existsSync(join(dir, "index.html")));
}

/** A JSON error as the API writes them, so the page reads one shape. */
function errorBody(
  c: Context,
  status: 400 | 401 | 403 | 404 | 502 | 504,
  code: string,
  message: string,
  hint?: string,
) {
  return c.json({ error: { code, message, ...(hint ? { hint } : {}) } }, status);
}

/** The origins of this server's own pages. */
function ownHosts(port: number): string[] {
  return [`127.0.0.1:${port}`, `localhost:${port}`];
}

/** Forwards one allowed API call to the grid with the credential; maps refusals and failures for the page. */
async function forward(c: Context, upstream: DashboardUpstream, doFetch: typeof fetch): Promise<Response> {
  const incoming = new URL(c.req.url);
  const path = incoming.pathname.slice(API_PREFIX.length);
  const method = c.req.method;
  if (!isAllowedApiRoute(method, path))
    return errorBody(c, 404, "NOT_FORWARDED", `${method} ${path} is not a route the dashboard forwards`);
  const url = new URL(upstream.endpoint.replace(/\/+$/, "") + path + incoming.search);
  const body = method === "GET" ? undefined : await c.req.text();
  const headers: Record<string, string> = { accept: "application/json" };
  if (body) headers["content-type"] = "application/json";
  if (upstream.token) headers.authorization = `Bearer ${upstream.token}`;
  let response: Response;
  try {
    if (upstream.signer) Object.assign(headers, await upstream.signer({ method, url, headers, body }));
    response = await doFetch(url, {
      method,
      headers,
      body: body || undefined,
      signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
    });
  } catch (error) {
    const e = error as Error;
    if (e.name === "TimeoutError")
      return errorBody(c, 504, "GRID_UNREACHABLE", `the grid at ${url.origin} did not answer within 30 s`);
    const cause = (e.cause as Error | undefined)?.message ?? e.message;
    return errorBody(c, 502, "GRID_UNREACHABLE", `cannot reach the grid at ${url.origin} (${cause})`);
  }
  const text = await response.text();
  if (response.status === 401 || response.status === 403) {
    let reason = `HTTP ${response.status}`;
    try {
      reason = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? reason;
    } catch {}
    return errorBody(
      c,
      response.status,
      "CREDENTIALS_REFUSED",
      `the grid refused the dashboard's credentials (${reason})`,
      upstream.credentialHint,
    );
  }
  return new Response(text, {
    status: response.status,
    headers: { "content-type": response.headers.get("content-type") ?? "application/json" },
  });
}

/**
 * Serves the dashboard on 127.0.0.1 (see the file's header). Rejects with a UsageError when the
 * front end is not built or the port is taken.
 */
export function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const assets = options.assetsDir ?? dashboardAssetsDir();
  if (!assets || !existsSync(join(assets, "index.html")))
    return Promise.reject(
      new UsageError(
        "the dashboard is not built: run `npm run build -w @tessera/dashboard` (npm install builds it)",
      ),
    );
  const doFetch = options.fetch ?? globalThis.fetch;
  let port = options.port ?? DEFAULT_DASHBOARD_PORT;
  const app = new Hono();
  app.use("*", async (c, next) => {
    const own = ownHosts(port);
    if (!own.includes(c.req.header("host") ?? ""))
      return errorBody(c, 403, "FOREIGN_HOST", `this server answers only to ${own.join(" or ")}`);
    const origin = c.req.header("origin");
    const sameOrigin = origin !== undefined && own.some((host) => origin === `http://${host}`);
    if (origin !== undefined && !sameOrigin)
      return errorBody(c, 403, "FOREIGN_ORIGIN", `requests from ${origin} are refused`);
    if (!["GET", "HEAD"].includes(c.req.method) && !sameOrigin)
      return errorBody(c, 403, "FOREIGN_ORIGIN", `${c.req.method} needs this dashboard's own Origin header`);
    await next();
    // The page runs only its own code: no injected script could reach the forwarded API.
    c.header(
      "content-security-policy",
      "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; frame-ancestors 'none'",
    );
    c.header("referrer-policy", "no-referrer");
  });
  app.all(`${API_PREFIX}/*`, (c) => forward(c, options, doFetch));
  app.use("/*", serveStatic({ root: assets }));
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port }, (info: AddressInfo) => {
      port = info.port;
      resolve({
        url: `http://127.0.0.1:${info.port}/`,
        port: info.port,
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            // A browser keeps its connections open; they hold no work worth waiting for.
            if ("closeAllConnections" in server) server.closeAllConnections();
          }),
      });
    });
    server.on("error", (error: NodeJS.ErrnoException) =>
      reject(
        error.code === "EADDRINUSE"
          ? new UsageError(
              `port ${port} on 127.0.0.1 is in use: pass --port N (or --port 0 for any free port)`,
            )
          : error,
      ),
    );
  });
}
