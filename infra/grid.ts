/** The grid definition of a stage: the single source of table, index, queue and bucket names. */
import { defineGrid, type GridDefinition } from "../packages/core/src/resources.ts";

const list = (value: string | undefined) =>
  (value ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);

/** The Lambda worker's timeout, in seconds (Lambda's longest): its queues are sized by it. */
export const WORKER_TIMEOUT_SECONDS = 900;

/** Pools from TESSERA_POOLS (comma-separated) at deploy time. @default ["default"] */
export function gridFor(stage: string): GridDefinition {
  const pools = list(process.env.TESSERA_POOLS ?? "default");
  const agents = list(process.env.TESSERA_AGENT_POOLS);
  return defineGrid({
    prefix: `tessera-${stage}`,
    pools,
    lambda: { pools: pools.filter((p) => !agents.includes(p)), timeoutSeconds: WORKER_TIMEOUT_SECONDS },
  });
}

/**
 * Which pools the Lambda worker consumes and which the agents (EC2 or EKS) do: a pool is
 * served by one kind only. TESSERA_AGENT_POOLS names the agent pools (tasks that may run
 * longer than Lambda's 15 minutes, or need more than 10 GB or a GPU); the rest go to Lambda.
 */
export function servedBy(grid: GridDefinition): { lambda: string[]; agents: string[] } {
  const agents = list(process.env.TESSERA_AGENT_POOLS);
  const unknown = agents.filter((p) => !grid.pools.includes(p));
  if (unknown.length > 0) {
    throw new Error(
      `TESSERA_AGENT_POOLS names ${unknown.join(", ")}, not in TESSERA_POOLS (${grid.pools.join(", ")})`,
    );
  }
  return { lambda: grid.pools.filter((p) => !agents.includes(p)), agents };
}

/**
 * The fleet scaler function's name: fixed, so the API (declared before it) can wake it on a
 * submit to an agent pool (packages/functions/src/scaler-kick.ts).
 */
export function scalerFunctionName(prefix: string): string {
  return `${prefix}-fleet-scaler`;
}
