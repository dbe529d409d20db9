/** The emulator-backed test grid of this test run (emulators started by the global setup). */
import { inject } from "vitest";
import type { AwsClients } from "../src/adapters/aws/index.ts";
import type { ReaperTiming } from "../src/model/limits.ts";
import type { Clock } from "../src/ports/clock.ts";
import {
  type AwsTestGrid,
  emulatorClients as clientsFor,
  provisionTestGrid,
} from "../src/testing/aws-test-grid.ts";

export type { AwsTestGrid };

/** Clients pointed at the emulators of this test run. */
export function emulatorClients(): AwsClients {
  return clientsFor(inject("emulators"));
}

/** Provisions a grid with a unique prefix, so test files never share state. */
export function awsTestGrid(
  options: { clock?: Clock; timing?: Partial<ReaperTiming> } = {},
): Promise<AwsTestGrid> {
  return provisionTestGrid(inject("emulators"), options);
}
