export { awsGridPorts } from "./aws-grid.ts";
export type { AwsClientOptions, AwsClients } from "./clients.ts";
export { createAwsClients, destroyAwsClients, LOCAL_CREDENTIALS } from "./clients.ts";
export { DynamoScalerLock, type DynamoScalerLockOptions } from "./dynamo-scaler-lock.ts";
export { DynamoTaskStore, type DynamoTaskStoreOptions } from "./dynamo-task-store.ts";
export {
  type Accelerators,
  AcceleratorsSchema,
  EC2_TAGS,
  Ec2Fleet,
  type Ec2FleetOptions,
  type Ec2PoolConfig,
  type InstanceShape,
  instanceRequirementsOf,
} from "./ec2-fleet.ts";
export type { GridFromEnv } from "./grid-from-env.ts";
export { gridPortsFromEnv, sessionUsageFor } from "./grid-from-env.ts";
export { provisionGrid, toCreateTableInput } from "./provision.ts";
export { S3BlobStore } from "./s3-blob-store.ts";
export { SqsBacklog } from "./sqs-backlog.ts";
export { SqsTicketQueue } from "./sqs-ticket-queue.ts";
