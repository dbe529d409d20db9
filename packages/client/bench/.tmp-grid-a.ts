import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, startLocalGrid } from "@tessera/local";
const repo = "/work/main/";
const grid = await startLocalGrid({
  ...loadConfig(repo, {}),
  dataDir: mkdtempSync(join(tmpdir(), "tessera-a-grid-")),
  port: 0,
  sample: { tasks: 0, fleetTasks: 0 },
  agents: { count: 0, concurrency: 1 },
  lambda: { pollers: 1, timeoutSeconds: 30, concurrency: 16, threads: 2 },
});
console.log(JSON.stringify({ url: grid.apiUrl, token: grid.token }));
process.on("SIGTERM", async () => { await grid.stop(); process.exit(0); });
