/** The grid definition of a stage: the single source of table, index, queue and bucket names. */
import { defineGrid, type GridDefinition } from "../packages/core/src/resources.ts";

/** Pools from TESSERA_POOLS (comma-separated) at deploy time. @default ["default"] */
export function gridFor(stage: string): GridDefinition {
  const pools = (process.env.TESSERA_POOLS ?? "default")
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  return defineGrid({ prefix: `tessera-${stage}`, pools });
}
