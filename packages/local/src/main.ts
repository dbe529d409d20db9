/**
 * `npm start`: the local grid on embedded emulators, its web dashboard, a sample workload with a
 * progress bar, and how to use it; then it serves until Ctrl-C and shuts everything down.
 */
import { relative } from "node:path";
import { type DashboardServer, startDashboardServer } from "@tessera/client/dashboard-server";
import { type LocalConfig, loadConfig, poolRoles } from "./config.ts";
import { startLocalGrid } from "./local-grid.ts";
import { runSample } from "./sample.ts";

function fail(error: unknown): never {
  // One line for the user; the stack only when asked for (TESSERA_DEBUG=1).
  const message = error instanceof Error ? error.message : String(error);
  console.error(`✗ ${message}`);
  if (process.env.TESSERA_DEBUG && error instanceof Error) console.error(error.stack);
  process.exit(1);
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const config = loadConfig();
  const grid = await startLocalGrid(config, (line) => console.log(`  ${line}`));
  console.log(`✓ local grid ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const dashboard = await startDashboard(grid.apiUrl, grid.token, config.port);
  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) {
      console.log(`${why} again: exiting without waiting`);
      process.exit(1);
    }
    stopping = true;
    console.log(`\n${why}: stopping the local grid…`);
    await dashboard?.close();
    await grid.stop();
    console.log("✓ stopped");
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("Ctrl-C"));
  process.on("SIGTERM", () => void stop("SIGTERM"));

  if (config.sample.tasks > 0) {
    const report = await runSample(grid.apiUrl, grid.token, config.sample.tasks, {
      progress: process.stdout.isTTY,
    });
    console.log(
      `✓ sample: ${report.succeeded}/${report.tasks} tasks succeeded in ${report.seconds.toFixed(1)} s ` +
        `(${report.tasksPerSecond} tasks/s, session ${report.sessionId})`,
    );
  }
  const roles = poolRoles(config);
  const fleetPool = roles.fleet[0];
  if (fleetPool && config.sample.fleetTasks > 0) {
    // Sleeps of 0.5-2 s on an agent pool: the scaler starts agents for them and, once the
    // pool has been idle for a while, stops them all (the lines the grid prints).
    console.log(
      `  fleet sample: ${config.sample.fleetTasks} sleep tasks on pool "${fleetPool}" (agents start on demand)`,
    );
    const report = await runSample(grid.apiUrl, grid.token, config.sample.fleetTasks, {
      // No bar: the fleet's own lines (agents launched, stopped) are the progress to watch.
      progress: false,
      pool: fleetPool,
      handler: "sleep",
      input: (i) => ({ ms: 500 + ((i * 7919) % 1500) }),
      name: "fleet-sample",
    });
    console.log(
      `✓ fleet sample: ${report.succeeded}/${report.tasks} tasks succeeded in ${report.seconds.toFixed(1)} s on agents ` +
        `(pool "${fleetPool}"); they stop after ${config.fleet.idleSeconds} s without work`,
    );
  }
  console.log(`
The grid serves until Ctrl-C.
  API       ${grid.apiUrl}   (OpenAPI: ${grid.apiUrl}/openapi.json)
  dashboard ${dashboard ? dashboard.url : "not served (see above)"}
  token     ${grid.token}   (tenant "${grid.tenant}"; kept in ${config.dataDir}/token)
  data      ${config.dataDir}   (sessions, queued tasks and results survive a restart)
  agents    ${grid.agents.length - roles.warm.length} fixed process(es); fleet pools ${roles.fleet.map((p) => `"${p}"`).join(", ") || "none"}: 0-${config.fleet.maxAgents} agents as the work needs; logs in ${config.dataDir}/logs
${warmPools(roles.warm, config)}${externalAgents(roles.external, grid.agentEnvFile)}

Try it:
  export TESSERA_URL=${grid.apiUrl} TESSERA_TOKEN=${grid.token}
  seq 1 100 | sed 's/.*/{"n":&}/' | npx tessera submit hello-cli - --handler echo --close
  npx tessera wait hello-cli && npx tessera results hello-cli | head -3
  # on the agent fleet, one task per ticket (watch agents start, then stop when idle):
  curl -s -H "authorization: Bearer $TESSERA_TOKEN" -H "content-type: application/json" \\
       -d '{"sessionId":"fleet-demo","config":{"pool":"${fleetPool ?? "batch"}","chunkMaxTasks":1}}' $TESSERA_URL/sessions
  seq 1 40 | sed 's/.*/{"ms":2000}/' | npx tessera submit fleet-demo - --handler sleep --close
  # SDK: new Tessera({ endpoint: process.env.TESSERA_URL, token: process.env.TESSERA_TOKEN }) from @tessera/client
  # HTTP:
  curl -s -H "authorization: Bearer $TESSERA_TOKEN" $TESSERA_URL/sessions
  curl -s -H "authorization: Bearer $TESSERA_TOKEN" -H "content-type: application/json" \\
       -d '{"sessionId":"hello"}' $TESSERA_URL/sessions
  curl -s -H "authorization: Bearer $TESSERA_TOKEN" -H "content-type: application/json" \\
       -d '{"handler":"echo","tasks":[{"index":0,"payload":"{\\"hi\\":1}"}]}' $TESSERA_URL/sessions/hello/tasks
  curl -s -H "authorization: Bearer $TESSERA_TOKEN" $TESSERA_URL/sessions/hello/results
`);
}

/**
 * The dashboard for this grid, on the port after the API's (any free one when the API's is 0);
 * the grid is useful without it, so a problem (not built, port taken) is one line, not a stop.
 */
async function startDashboard(
  apiUrl: string,
  token: string,
  apiPort: number,
): Promise<DashboardServer | undefined> {
  try {
    const dashboard = await startDashboardServer({
      endpoint: apiUrl,
      token,
      credentialHint: "restart `npm start`: the dashboard takes the local grid's token when it starts",
      port: apiPort === 0 ? 0 : apiPort + 1,
    });
    console.log(`✓ dashboard at ${dashboard.url} (sessions show there as they run)`);
    return dashboard;
  } catch (error) {
    console.log(`  ✗ dashboard: ${(error as Error).message}`);
    return undefined;
  }
}

/**
 * How to serve the external pools with an agent of your own: the one command, from the
 * settings the grid wrote. With no external pool, how to declare one.
 */
function externalAgents(pools: string[], envFile: string): string {
  const near = relative(process.cwd(), envFile);
  const file = near.startsWith("..") ? envFile : near;
  const command = `set -a; . ${file}; set +a; npx tessera-agent --pools ${pools[0] ?? "POOL"} --command python3 --arg examples/pricer.py`;
  return pools.length > 0
    ? `  external  pools ${pools.map((p) => `"${p}"`).join(", ")} are served by agents you start (settings in ${file}):\n              ${command}`
    : `  external  none; to run your own agents on a pool, list it in "externalPools" (tessera.local.json), then:\n              ${command}`;
}

main().catch(fail);

/** The banner's line for pools run on warm worker processes (`workerPools`), if any. */
function warmPools(pools: string[], config: LocalConfig): string {
  if (pools.length === 0) return "";
  const each = pools.map(
    (p) => `"${p}" (${config.workerPools[p]!.command}, ${config.workerPools[p]!.concurrency} at a time)`,
  );
  return `  warm      pools ${each.join(", ")}: warm worker processes; logs in ${config.dataDir}/logs/worker-agent-*.log\n`;
}
