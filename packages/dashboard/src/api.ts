/**
 * Calls to the grid's API through the dashboard's own server (`/api/...`), which adds the
 * credential: the page holds none. Every failure is an ApiError whose `kind` says what the page
 * should show: a refused credential and its fix, an unreachable grid (retry), a route this grid
 * does not have, or the API's own message.
 */

/** What went wrong, as the page presents it. */
export type ApiErrorKind = "credentials" | "unreachable" | "unavailable" | "notFound" | "other";

/** A failed API call. */
export class ApiError extends Error {
  override name = "ApiError";
  readonly kind: ApiErrorKind;
  readonly status: number;
  readonly code: string;
  /** The command that fixes a refused credential (from the server). */
  readonly hint: string | undefined;
  /** The request field at fault (400). */
  readonly field: string | undefined;

  constructor(
    message: string,
    details: {
      kind: ApiErrorKind;
      status: number;
      code: string;
      hint?: string | undefined;
      field?: string | undefined;
    },
  ) {
    super(message);
    this.kind = details.kind;
    this.status = details.status;
    this.code = details.code;
    this.hint = details.hint;
    this.field = details.field;
  }
}

interface ErrorBody {
  error?: { code?: string; message?: string; hint?: string; field?: string };
}

function kindOf(status: number, code: string): ApiErrorKind {
  if (code === "CREDENTIALS_REFUSED" || status === 401 || status === 403) return "credentials";
  if (code === "GRID_UNREACHABLE" || status === 502 || status === 503 || status === 504) return "unreachable";
  // The API's answer for a path it has no route for, or the server's for one it does not forward.
  if (code === "ROUTE_NOT_FOUND" || code === "NOT_FORWARDED" || code === "METHOD_NOT_ALLOWED")
    return "unavailable";
  if (status === 404) return "notFound";
  return "other";
}

/** Query values; undefined and "" are left out. */
export type Query = Record<string, string | number | undefined>;

async function call<T>(method: "GET" | "POST", path: string, query: Query = {}): Promise<T> {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query))
    if (value !== undefined && value !== "") search.set(name, String(value));
  const qs = search.toString();
  let response: Response;
  try {
    response = await fetch(`/api${path}${qs ? `?${qs}` : ""}`, {
      method,
      headers: { accept: "application/json" },
    });
  } catch {
    // The dashboard's own server is gone (tessera dashboard stopped).
    throw new ApiError("the dashboard server does not answer", {
      kind: "unreachable",
      status: 0,
      code: "SERVER_GONE",
    });
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text === "" ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (response.ok) return body as T;
  const error = (body as ErrorBody | undefined)?.error ?? {};
  const code = error.code ?? `HTTP_${response.status}`;
  throw new ApiError(error.message ?? `HTTP ${response.status}`, {
    kind: kindOf(response.status, code),
    status: response.status,
    code,
    hint: error.hint,
    field: error.field,
  });
}

/** GET a JSON document of the API. */
export function getJson<T>(path: string, query?: Query): Promise<T> {
  return call<T>("GET", path, query);
}

/** POST to an API route that takes no body (close, cancel). */
export function postJson<T>(path: string): Promise<T> {
  return call<T>("POST", path);
}

/** A path segment (session ids are URL-safe, but never trust a hash). */
export const seg = encodeURIComponent;
