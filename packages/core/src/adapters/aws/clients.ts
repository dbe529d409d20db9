import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

/** The SDK clients of a grid. Create once per process (per Lambda container) and reuse. */
export interface AwsClients {
  dynamo: DynamoDBClient;
  doc: DynamoDBDocumentClient;
  sqs: SQSClient;
  s3: S3Client;
}

/** Where the clients point. */
export interface AwsClientOptions {
  region?: string;
  /** DynamoDB endpoint (DynamoDB Local); AWS when absent. */
  dynamoEndpoint?: string;
  /** SQS and S3 endpoint (fauxqs); AWS when absent. */
  queueEndpoint?: string;
  /**
   * Credentials. Leave absent on AWS (the default provider chain: Lambda role, instance profile).
   * Local mode passes dummy ones: the emulators accept anything.
   */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** SDK attempts per call (retries throttling and 5xx with backoff). @default 3 */
  maxAttempts?: number;
}

/** Dummy credentials for the local emulators only. */
export const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" } as const;

/** Creates the SDK clients. */
export function createAwsClients(options: AwsClientOptions = {}): AwsClients {
  const common = {
    region: options.region ?? "us-east-1",
    maxAttempts: options.maxAttempts ?? 3,
    ...(options.credentials ? { credentials: options.credentials } : {}),
  };
  const dynamo = new DynamoDBClient({
    ...common,
    ...(options.dynamoEndpoint ? { endpoint: options.dynamoEndpoint } : {}),
  });
  const doc = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  const queueEndpoint = options.queueEndpoint ? { endpoint: options.queueEndpoint } : {};
  const sqs = new SQSClient({ ...common, ...queueEndpoint });
  const s3 = new S3Client({
    ...common,
    ...queueEndpoint,
    forcePathStyle: options.queueEndpoint !== undefined,
  });
  return { dynamo, doc, sqs, s3 };
}

/** Closes the clients' connection pools. */
export function destroyAwsClients(clients: AwsClients): void {
  clients.dynamo.destroy();
  clients.sqs.destroy();
  clients.s3.destroy();
}
