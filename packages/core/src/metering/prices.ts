/** Shape of {@link AWS_LIST_PRICES}: US dollars per billed unit, plus where the figures came from. */
export interface PriceTable {
  /** Region the list prices apply to. */
  readonly region: string;
  /** When the prices were taken (month precision: see `source`). */
  readonly takenOn: string;
  /** Where the prices came from and how far to trust them. */
  readonly source: string;
  readonly dynamodb: {
    /** On-demand, per write request unit (1 KiB of item, rounded up per item). */
    readonly writeRequestUnit: number;
    /** On-demand, per read request unit (4 KiB strongly consistent; half for eventual). */
    readonly readRequestUnit: number;
  };
  readonly sqs: {
    /** Standard queue, per billed request. */
    readonly standardRequest: number;
    /** Each started chunk of this many payload bytes is billed as one request. */
    readonly billedChunkBytes: number;
  };
  readonly s3: {
    /** S3 Standard PUT, COPY, POST and LIST requests. */
    readonly putClassRequest: number;
    /** S3 Standard GET, SELECT and every other request not listed. */
    readonly getClassRequest: number;
    /** DELETE and CANCEL requests. */
    readonly freeRequest: number;
  };
  readonly lambda: {
    /** Per invocation. */
    readonly request: number;
    /** Per GB-second of arm64 duration (first pricing tier). */
    readonly arm64GbSecond: number;
  };
  readonly apiGateway: {
    /** HTTP API, per billed request (first pricing tier). */
    readonly httpRequest: number;
    /** Each started chunk of this many request bytes is billed as one request. */
    readonly billedChunkBytes: number;
  };
}

const PER_MILLION = 1 / 1_000_000;
const PER_THOUSAND = 1 / 1_000;

/**
 * AWS list prices, us-east-1, on-demand / standard tiers, in US dollars per billed unit.
 *
 * Source: the public AWS pricing pages for DynamoDB (on-demand capacity, after the
 * November 2024 price cut), SQS, S3 Standard, Lambda and API Gateway, as last known to the
 * author of this table. There was no internet access when it was written, so the figures were
 * NOT re-verified online: check them against the pricing pages before quoting a dollar figure
 * outside the benchmark. Free tiers are ignored on purpose, since the budget is about marginal
 * cost per task at scale.
 */
export const AWS_LIST_PRICES = {
  region: "us-east-1",
  takenOn: "2025-01",
  source: "AWS pricing pages as last known (not re-verified online); free tiers ignored",
  dynamodb: {
    writeRequestUnit: 0.625 * PER_MILLION,
    readRequestUnit: 0.125 * PER_MILLION,
  },
  sqs: {
    standardRequest: 0.4 * PER_MILLION,
    billedChunkBytes: 64 * 1024,
  },
  s3: {
    putClassRequest: 0.005 * PER_THOUSAND,
    getClassRequest: 0.0004 * PER_THOUSAND,
    freeRequest: 0,
  },
  lambda: {
    request: 0.2 * PER_MILLION,
    arm64GbSecond: 0.0000133334,
  },
  apiGateway: {
    httpRequest: 1 * PER_MILLION,
    billedChunkBytes: 512 * 1024,
  },
} as const satisfies PriceTable;
