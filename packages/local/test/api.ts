/** The local grid's HTTP API, as a test calls it: the grid's own token, JSON in and out. */
import type { LocalGrid } from "../src/index.ts";

export async function api(grid: LocalGrid, method: string, path: string, body?: unknown) {
  const response = await fetch(`${grid.apiUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${grid.token}`,
      ...(body ? { "content-type": "application/json" } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by each test
  return { status: response.status, body: (await response.json()) as any };
}
