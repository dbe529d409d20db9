export {
  FAKE_CATALOG,
  type FakeEc2,
  type FakeInstance,
  type FakeInstanceType,
  startFakeEc2,
} from "./fake-ec2.ts";
export type { FleetSimOptions, FleetSimResult, SimSession } from "./fleet-sim.ts";
export { burstyFleetSim, SIM_INSTANCE_TYPES, simulateFleet } from "./fleet-sim.ts";
export type { MemoryGrid } from "./memory-grid.ts";
export { memoryGrid, realtimeMemoryGrid } from "./memory-grid.ts";
export { seededRandom } from "./random.ts";
