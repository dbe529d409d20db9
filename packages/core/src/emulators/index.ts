export type { DynamoDbLocal } from "./dynamodb-local.ts";
export { checkJava, startDynamoDbLocal, sweepStaleEmulators } from "./dynamodb-local.ts";
export type { FauxqsEmulator } from "./fauxqs.ts";
export { startFauxqsEmulator } from "./fauxqs.ts";
export { freePort } from "./free-port.ts";
