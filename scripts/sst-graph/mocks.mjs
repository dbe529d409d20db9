/**
 * Runs inside the bundle that scripts/sst-graph.ts builds from sst.config.ts (with SST's own
 * platform sources and providers from .sst/platform): the globals SST's CLI would set, and
 * Pulumi's runtime mocks in place of a cloud. Every resource the stack declares, with its
 * resolved inputs, is written as JSON to the file named by TESSERA_GRAPH_OUT.
 */
import { writeFileSync } from "node:fs";
import http from "node:http";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** The partition the stack is declared in (TESSERA_GRAPH_PARTITION): aws, or aws-cn to check ARNs. */
const PARTITIONS = {
  aws: { region: "us-east-1", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws" },
  "aws-cn": { region: "cn-north-1", dnsSuffix: "amazonaws.com.cn", reverseDnsPrefix: "cn.com.amazonaws" },
};
const PARTITION = process.env.TESSERA_GRAPH_PARTITION ?? "aws";
const { region: REGION, dnsSuffix: DNS, reverseDnsPrefix: REVERSE_DNS } = PARTITIONS[PARTITION];
const ACCOUNT = "123456789012";
const stage = process.env.SST_STAGE ?? "graph";

/** Every resource declared: type, logical name, inputs as Pulumi resolved them. */
const resources = [];

/** A plausible ARN (and URL) for a resource, so ARNs in policies can be traced back to it. */
function physical(type, name, inputs) {
  const physicalName = inputs.name ?? inputs.bucket ?? `${name}-physical`;
  switch (type) {
    case "aws:sqs/queue:Queue":
      return {
        arn: `arn:${PARTITION}:sqs:${REGION}:${ACCOUNT}:${physicalName}`,
        url: `https://sqs.${REGION}.${DNS}/${ACCOUNT}/${physicalName}`,
      };
    case "aws:dynamodb/table:Table":
      return { arn: `arn:${PARTITION}:dynamodb:${REGION}:${ACCOUNT}:table/${physicalName}` };
    case "aws:s3/bucket:Bucket":
    case "aws:s3/bucketV2:BucketV2":
      return { arn: `arn:${PARTITION}:s3:::${physicalName}`, bucket: physicalName };
    case "aws:lambda/function:Function":
      return {
        arn: `arn:${PARTITION}:lambda:${REGION}:${ACCOUNT}:function:${physicalName}`,
        invokeArn: `arn:${PARTITION}:apigateway:${REGION}:lambda:path/functions/${physicalName}/invocations`,
      };
    case "aws:iam/role:Role":
      return { arn: `arn:${PARTITION}:iam::${ACCOUNT}:role/${physicalName}` };
    case "aws:iam/instanceProfile:InstanceProfile":
      return { arn: `arn:${PARTITION}:iam::${ACCOUNT}:instance-profile/${physicalName}` };
    case "aws:ec2/launchTemplate:LaunchTemplate":
      return { arn: `arn:${PARTITION}:ec2:${REGION}:${ACCOUNT}:launch-template/lt-${name}` };
    case "aws:ec2/subnet:Subnet":
      return { arn: `arn:${PARTITION}:ec2:${REGION}:${ACCOUNT}:subnet/subnet-${name}` };
    case "aws:ec2/securityGroup:SecurityGroup":
      return { arn: `arn:${PARTITION}:ec2:${REGION}:${ACCOUNT}:security-group/sg-${name}` };
    case "aws:cloudwatch/logGroup:LogGroup":
      // As AWS's provider reports it: without the `:*` the API adds.
      return { arn: `arn:${PARTITION}:logs:${REGION}:${ACCOUNT}:log-group:${physicalName}` };
    case "aws:sns/topic:Topic":
      return { arn: `arn:${PARTITION}:sns:${REGION}:${ACCOUNT}:${physicalName}` };
    case "aws:apigatewayv2/api:Api":
      return {
        arn: `arn:${PARTITION}:apigateway:${REGION}::/apis/${name}`,
        executionArn: `arn:${PARTITION}:execute-api:${REGION}:${ACCOUNT}:${name}`,
        apiEndpoint: `https://${name}.execute-api.${REGION}.${DNS}`,
      };
    default:
      return {
        arn: `arn:${PARTITION}:mock:${REGION}:${ACCOUNT}:${type.split(":")[1] ?? type}/${physicalName}`,
      };
  }
}

/** aws.iam.getPolicyDocument, as AWS's provider renders it. */
function policyDocument(args) {
  const list = (v) => (v === undefined ? undefined : v.length === 1 ? v[0] : v);
  const Statement = (args.statements ?? []).map((s) => ({
    ...(s.sid ? { Sid: s.sid } : {}),
    Effect: s.effect ?? "Allow",
    ...(s.actions ? { Action: list(s.actions) } : {}),
    ...(s.resources ? { Resource: list(s.resources) } : {}),
    ...(s.principals
      ? {
          Principal: Object.fromEntries(s.principals.map((p) => [p.type, list(p.identifiers)])),
        }
      : {}),
    ...(s.conditions
      ? {
          // Conditions under one operator are merged, as the provider renders them.
          Condition: s.conditions.reduce((acc, c) => {
            acc[c.test] = { ...acc[c.test], [c.variable]: list(c.values) };
            return acc;
          }, {}),
        }
      : {}),
  }));
  return { ...args, json: JSON.stringify({ Version: "2012-10-17", Statement }), id: "policy" };
}

const unknownCalls = new Set();

/**
 * Calls to the CLI in flight (SST's components call it over HTTP with http.request, e.g. to
 * build a function): the graph is complete only once none is left.
 */
let rpcInFlight = 0;
const request = http.request;
http.request = function counted(...args) {
  const req = request.apply(this, args);
  rpcInFlight++;
  req.once("close", () => rpcInFlight--);
  return req;
};

await pulumi.runtime.setMocks(
  {
    newResource({ type, name, inputs }) {
      const state = { ...inputs, ...physical(type, name, inputs) };
      if (state.name === undefined) state.name = state.bucket ?? `${name}-physical`;
      resources.push({ type, name, inputs, state: { arn: state.arn, name: state.name, url: state.url } });
      return { id: `${name}-id`, state };
    },
    call({ token, inputs }) {
      switch (token) {
        case "aws:index/getRegion:getRegion":
          return { name: REGION, region: REGION, id: REGION };
        case "aws:index/getCallerIdentity:getCallerIdentity":
          return {
            accountId: ACCOUNT,
            arn: `arn:${PARTITION}:iam::${ACCOUNT}:user/graph`,
            userId: "graph",
            id: ACCOUNT,
          };
        case "aws:index/getPartition:getPartition":
          return { partition: PARTITION, dnsSuffix: DNS, reverseDnsPrefix: REVERSE_DNS, id: PARTITION };
        case "aws:index/getAvailabilityZones:getAvailabilityZones":
          return {
            names: ["a", "b", "c"].map((z) => `${REGION}${z}`),
            zoneIds: ["use1-az1", "use1-az2", "use1-az4"],
            id: REGION,
          };
        case "aws:iam/getPolicyDocument:getPolicyDocument":
          return policyDocument(inputs);
        default:
          unknownCalls.add(token);
          return inputs;
      }
    },
  },
  "tessera",
  stage,
  false,
);

globalThis.aws = aws;
globalThis.$dev = process.env.TESSERA_GRAPH_DEV === "1";
globalThis.$app = { name: "tessera", stage, removal: "remove", protect: false, providers: {} };
globalThis.$cli = {
  command: globalThis.$dev ? "dev" : "deploy",
  paths: {
    root: process.env.TESSERA_GRAPH_ROOT,
    work: process.env.TESSERA_GRAPH_WORK,
    platform: process.env.TESSERA_GRAPH_PLATFORM,
    home: process.env.TESSERA_GRAPH_WORK,
  },
  state: { version: {} },
  backend: "aws",
};

/** Evaluates the config like `sst deploy` and writes what it declared. */
export async function declare(config, run, sst) {
  globalThis.sst = sst;
  const app = await config.app({ stage });
  globalThis.$app = {
    name: app.name,
    stage,
    removal: app.removal ?? "retain",
    protect: app.protect ?? false,
    providers: app.providers ?? {},
  };
  // The root stack resource the Pulumi engine would create (stack transformations need it).
  let outputs;
  await pulumi.runtime.runInPulumiStack(async () => {
    outputs = await run(config.run);
    return outputs;
  });
  const resolved = await new Promise((resolve) => pulumi.output(outputs).apply(resolve));
  // Registrations continue after the outputs resolve (function builds answer over RPC); wait
  // until no call is in flight and the graph has not grown for a second and a half.
  for (let seen = resources.length, still = 0; still < 5; ) {
    await new Promise((r) => setTimeout(r, 300));
    still = resources.length === seen && rpcInFlight === 0 ? still + 1 : 0;
    seen = resources.length;
  }
  writeFileSync(
    process.env.TESSERA_GRAPH_OUT,
    JSON.stringify({ resources, outputs: resolved, unknownCalls: [...unknownCalls] }),
  );
}
