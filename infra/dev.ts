/**
 * `sst dev`: the stage's functions run on this machine through Live Lambda (invoked by the real
 * API Gateway, SQS and schedule), and the grid's long-running processes are registered next to
 * them: an agent serving the stage's real queues. (`npm start` is the other way round: the same
 * code on this machine against emulators, with no AWS account at all.)
 */
import type { GridDefinition } from "../packages/core/src/resources.ts";

export function devCommands(grid: GridDefinition, environment: Record<string, $util.Input<string>>) {
  const agent = new sst.x.DevCommand("Agent", {
    dev: {
      title: "agent",
      command:
        "node packages/agent/src/cli.ts --tasks examples/echo.ts examples/option-pricing.ts --health-port 0",
      autostart: true,
    },
    environment: { ...environment, TESSERA_AGENT_POOLS: grid.pools.join(",") },
  });
  return { agent };
}
