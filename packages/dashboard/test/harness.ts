/**
 * What the dashboard's browser tests and its benchmark stand on: a local grid (with the test task
 * module), the dashboard server in front of it, and Debian's chromium driven by playwright-core.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DashboardServer, startDashboardServer } from "@tessera/client/dashboard-server";
import { type LocalGrid, loadConfig, startLocalGrid } from "@tessera/local";
import { type Browser, chromium } from "playwright-core";
import { build } from "vite";

const repo = new URL("../../../", import.meta.url).pathname;
const fixtureTasks = new URL("./fixtures/tasks.ts", import.meta.url).pathname;

/** Where Debian puts chromium (`npm test` installs it: scripts/ensure-chromium.ts). */
export const CHROMIUM = "/usr/bin/chromium";

/** A local grid on free ports with the `gated` test task, no sample and no agents; its stop removes its data. */
export async function startTestGrid(): Promise<LocalGrid> {
  const config = loadConfig(repo, {});
  const dataDir = mkdtempSync(join(tmpdir(), "tessera-dash-"));
  const grid = await startLocalGrid({
    ...config,
    dataDir,
    port: 0,
    tasks: [...config.tasks, fixtureTasks],
    lambda: { pollers: 1, timeoutSeconds: 30, concurrency: 16, threads: 0 },
    agents: { count: 0, concurrency: 1 },
    sample: { tasks: 0, fleetTasks: 0 },
  });
  const stop = grid.stop;
  grid.stop = async () => {
    await stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  return grid;
}

/**
 * Builds the front end from its current sources into `outDir` (default: a new temporary folder,
 * so that tests never serve a stale build, nor one another process is rewriting); returns it.
 */
export async function buildDashboard(
  outDir = mkdtempSync(join(tmpdir(), "tessera-dash-dist-")),
): Promise<string> {
  await build({
    root: new URL("..", import.meta.url).pathname,
    logLevel: "warn",
    build: { outDir, emptyOutDir: true },
  });
  return outDir;
}

/** The dashboard server for `grid`, serving `assetsDir` (or with `token` instead of the grid's). */
export function startDashboardFor(
  grid: LocalGrid,
  o: { assetsDir?: string | undefined; token?: string } = {},
): Promise<DashboardServer> {
  return startDashboardServer({
    endpoint: grid.apiUrl,
    token: o.token ?? grid.token,
    credentialHint: "pass the grid's token with --token, then run `tessera dashboard` again",
    port: 0,
    assetsDir: o.assetsDir,
  });
}

/** Headless chromium with a fresh profile, nothing fetched from outside. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/**
 * The grid's HTTP API with its own token, JSON in and out; throws on a non-2xx. A 503 or 429 (a
 * busy machine) is tried again: every call of the API is safe to retry.
 */
export async function api<T = unknown>(
  grid: LocalGrid,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(`${grid.apiUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${grid.token}`,
        ...(body ? { "content-type": "application/json" } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    if (response.ok) return JSON.parse(text) as T;
    if ((response.status !== 503 && response.status !== 429) || attempt >= 5)
      throw new Error(`${method} ${path}: HTTP ${response.status} ${text}`);
    await new Promise((r) => setTimeout(r, 500 * attempt));
  }
}
