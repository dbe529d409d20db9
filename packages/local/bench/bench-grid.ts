/**
 * The local grid as the local-grid benchmarks start it: a fresh data directory, the repository's
 * config with `overrides`, no sample workload, and a JSON helper over its HTTP API. `stop()`
 * stops the grid and removes the data directory.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalConfig, loadConfig } from "../src/config.ts";
import { type LocalGrid, startLocalGrid } from "../src/local-grid.ts";

/** A benchmark's grid. */
export interface BenchGrid {
  grid: LocalGrid;
  /** The repository's config, as the grid was started over it. */
  base: LocalConfig;
  /** Calls the API with the grid's token; resolves the JSON body. */
  call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

export async function startBenchGrid(
  name: string,
  overrides: (base: LocalConfig) => Partial<LocalConfig>,
): Promise<BenchGrid> {
  const repo = new URL("../../../", import.meta.url).pathname;
  const dataDir = mkdtempSync(join(tmpdir(), `tessera-bench-${name}-`));
  const base = loadConfig(repo, {});
  const grid = await startLocalGrid({
    ...base,
    dataDir,
    port: 0,
    sample: { tasks: 0, fleetTasks: 0 },
    ...overrides(base),
  });
  const headers = { authorization: `Bearer ${grid.token}`, "content-type": "application/json" };
  return {
    grid,
    base,
    call: async (method, path, body) => {
      const response = await fetch(`${grid.apiUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return (await response.json()) as Record<string, unknown>;
    },
    stop: async () => {
      await grid.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
