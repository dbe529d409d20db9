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
  readonly ec2: {
    /** Linux on-demand, per instance-hour, by instance type (billed per second, 60 s minimum). */
    readonly onDemandHourly: Readonly<Record<string, number>>;
    /**
     * Spot price as a fraction of on-demand: an estimate (spot prices move with each pool's
     * supply and demand; the bill has the real ones).
     */
    readonly spotFraction: number;
  };
}

const PER_MILLION = 1 / 1_000_000;
const PER_THOUSAND = 1 / 1_000;

/**
 * AWS list prices, us-east-1, on-demand / standard tiers, in US dollars per billed unit.
 *
 * Source: the public AWS pricing pages for DynamoDB (on-demand capacity, after the
 * November 2024 price cut), SQS, S3 Standard, Lambda, API Gateway and EC2 (Linux on-demand;
 * spot as an estimated fraction of it), as last known to the
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
  ec2: {
    // The types the default agent pools (arm64, 2-16 vCPUs) and x86 pools are likely to get.
    onDemandHourly: {
      "c6g.large": 0.068,
      "c6g.xlarge": 0.136,
      "c6g.2xlarge": 0.272,
      "c7g.large": 0.0725,
      "c7g.xlarge": 0.145,
      "c7g.2xlarge": 0.29,
      "c7g.4xlarge": 0.58,
      "m6g.large": 0.077,
      "m6g.xlarge": 0.154,
      "m7g.large": 0.0816,
      "m7g.xlarge": 0.1632,
      "m7g.2xlarge": 0.3264,
      "r7g.xlarge": 0.2142,
      "c7i.large": 0.08925,
      "c7i.xlarge": 0.1785,
      "m7i.large": 0.1008,
      "m7i.xlarge": 0.2016,
      "m7a.xlarge": 0.23184,
    },
    spotFraction: 0.35,
  },
} as const satisfies PriceTable;

/**
 * An EC2 instance's list price per hour in a market, or undefined when the table does not
 * know the type (or the "instance" is a local process, which nothing bills).
 */
export function ec2HourlyRate(instanceType: string, market: string, prices: PriceTable = AWS_LIST_PRICES) {
  if (market !== "spot" && market !== "on-demand") return undefined;
  const hourly = prices.ec2.onDemandHourly[instanceType];
  return hourly === undefined ? undefined : hourly * (market === "spot" ? prices.ec2.spotFraction : 1);
}
