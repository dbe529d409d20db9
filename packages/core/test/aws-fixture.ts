/** A freshly provisioned grid on the emulators for one test file: unique table, queues, bucket. */
import { randomUUID } from "node:crypto";
import { inject } from "vitest";
import {
  type AwsClients,
  awsGridPorts,
  createAwsClients,
  destroyAwsClients,
  LOCAL_CREDENTIALS,
  provisionGrid,
} from "../src/adapters/aws/index.ts";
import type { GridPorts } from "../src/dispatch/grid-ports.ts";
import type { ReaperTiming } from "../src/model/limits.ts";
import type { Clock } from "../src/ports/clock.ts";
import { defineGrid } from "../src/resources.ts";

/** An emulator-backed grid and its clients. */
export interface AwsTestGrid {
  ports: GridPorts;
  clients: AwsClients;
  queueUrls: Record<string, string>;
  close(): void;
}

/** Clients pointed at the emulators of this test run. */
export function emulatorClients(): AwsClients {
  const { dynamoEndpoint, queueEndpoint } = inject("emulators");
  return createAwsClients({ dynamoEndpoint, queueEndpoint, credentials: LOCAL_CREDENTIALS });
}

/** Provisions a grid with a unique prefix, so test files never share state. */
export async function awsTestGrid(
  options: { clock?: Clock; timing?: Partial<ReaperTiming> } = {},
): Promise<AwsTestGrid> {
  const clients = emulatorClients();
  const grid = defineGrid({ prefix: `t${randomUUID().slice(0, 8)}` });
  const queueUrls = await provisionGrid(clients, grid);
  return {
    ports: awsGridPorts(clients, grid, queueUrls, options),
    clients,
    queueUrls,
    close: () => destroyAwsClients(clients),
  };
}
