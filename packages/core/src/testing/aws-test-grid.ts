/** A freshly provisioned grid on the emulators (tests of every package use it). */
import { randomUUID } from "node:crypto";
import {
  type AwsClients,
  awsGridPorts,
  createAwsClients,
  destroyAwsClients,
  LOCAL_CREDENTIALS,
  provisionGrid,
} from "../adapters/aws/index.ts";
import type { GridPorts } from "../dispatch/grid-ports.ts";
import type { ReaperTiming } from "../model/limits.ts";
import type { Clock } from "../ports/clock.ts";
import { defineGrid, type GridDefinition } from "../resources.ts";

/** Where the emulators listen. */
export interface EmulatorEndpoints {
  dynamoEndpoint: string;
  queueEndpoint: string;
}

/** An emulator-backed grid and its clients. */
export interface AwsTestGrid {
  ports: GridPorts;
  clients: AwsClients;
  grid: GridDefinition;
  queueUrls: Record<string, string>;
  close(): void;
}

/** Clients pointed at the emulators. */
export function emulatorClients(endpoints: EmulatorEndpoints): AwsClients {
  return createAwsClients({ ...endpoints, credentials: LOCAL_CREDENTIALS });
}

/** Provisions a grid with a unique prefix, so tests never share state. */
export async function provisionTestGrid(
  endpoints: EmulatorEndpoints,
  options: { clock?: Clock; timing?: Partial<ReaperTiming>; pools?: string[]; retentionDays?: number } = {},
): Promise<AwsTestGrid> {
  const clients = emulatorClients(endpoints);
  const grid = defineGrid({ prefix: `t${randomUUID().slice(0, 8)}`, pools: options.pools });
  const queueUrls = await provisionGrid(clients, grid);
  return {
    ports: awsGridPorts(clients, grid, queueUrls, options),
    clients,
    grid,
    queueUrls,
    close: () => destroyAwsClients(clients),
  };
}
