/**
 * Starts DynamoDB Local and fauxqs once for the whole test run and stops them at the end.
 * DynamoDB Local also dies with this process if the run crashes (see emulators/dynamodb-local.ts).
 */
import type { TestProject } from "vitest/node";
import { startDynamoDbLocal, startFauxqsEmulator } from "../src/emulators/index.ts";

declare module "vitest" {
  export interface ProvidedContext {
    emulators: { dynamoEndpoint: string; queueEndpoint: string };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [dynamo, fauxqs] = await Promise.all([startDynamoDbLocal(), startFauxqsEmulator()]);
  project.provide("emulators", { dynamoEndpoint: dynamo.endpoint, queueEndpoint: fauxqs.endpoint });
  return async () => {
    await Promise.all([dynamo.stop(), fauxqs.stop()]);
  };
}
