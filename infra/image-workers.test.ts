/**
 * Lambda pools in any language (image-workers.ts), in the real stack declared offline under
 * Pulumi's mocks (scripts/sst-graph.ts, as graph.test.ts): a pool of TESSERA_WORKER_IMAGE_POOLS
 * gets a container-image function that is the zip worker's twin on its own queues.
 */
// biome-ignore-all lint/suspicious/noExplicitAny: resource inputs are free-form records here
import { beforeAll, describe, expect, it } from "vitest";
import { defineGrid } from "../packages/core/src/resources.ts";
import { declareStack, type Graph, type GraphResource } from "../scripts/sst-graph.ts";
import { imagePoolSettings } from "./image-workers.ts";

const IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/tessera-py:1";
const COMMAND = "python3 -m tessera.worker python_pricing";
const grid = defineGrid({
  prefix: "tessera-graph",
  pools: ["default", "py"],
  lambda: { pools: ["default", "py"], timeoutSeconds: 900 },
});

type Statement = { Effect: string; Action: string | string[]; Resource: string | string[] };
const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);
const ofType = (g: Graph, type: string) => g.resources.filter((r) => r.type === type);
const one = (g: Graph, type: string, name: string): GraphResource => {
  const found = g.resources.find((r) => r.type === type && r.name === name);
  if (!found) throw new Error(`no ${type} named ${name}`);
  return found;
};
const queueArn = (g: Graph, physicalName: string) =>
  g.resources.find((r) => r.type === "aws:sqs/queue:Queue" && r.state.name === physicalName)!.state.arn;
const roleOf = (g: Graph, fn: GraphResource) =>
  g.resources.find((r) => r.type === "aws:iam/role:Role" && r.state.arn === fn.inputs.role)!;

/** "action resource" pairs a role is allowed, from its inline policies and RolePolicy resources. */
function grants(g: Graph, role: GraphResource): Set<string> {
  const docs = [
    ...(role.inputs.inlinePolicies ?? []).map((p: any) => JSON.parse(p.policy)),
    ...ofType(g, "aws:iam/rolePolicy:RolePolicy")
      .filter((p) => p.inputs.role === `${role.name}-id`)
      .map((p) => JSON.parse(p.inputs.policy)),
  ];
  const out = new Set<string>();
  for (const s of docs.flatMap((d: { Statement: Statement[] }) => d.Statement)) {
    expect(s.Effect).toBe("Allow");
    for (const a of list(s.Action)) for (const r of list(s.Resource)) out.add(`${a} ${r}`);
  }
  return out;
}

describe("Lambda pools in any language (TESSERA_WORKER_IMAGE_POOLS)", () => {
  let g: Graph;
  let image: GraphResource;
  let worker: GraphResource;
  beforeAll(async () => {
    g = await declareStack({
      env: {
        TESSERA_POOLS: "default,py",
        TESSERA_WORKER_IMAGE_POOLS: JSON.stringify({
          py: {
            image: IMAGE,
            command: COMMAND,
            memory: 3008,
            timeout: 600,
            concurrency: 4,
            handlers: ["price-py"],
          },
        }),
      },
    });
    image = one(g, "aws:lambda/function:Function", "ImageWorkerpyFunction");
    worker = one(g, "aws:lambda/function:Function", "WorkerFunction");
  }, 120_000);

  it("declares a container-image function of the pool's image, arm64, with the worker's environment", () => {
    expect(image.inputs).toMatchObject({
      name: "tessera-graph-worker-py",
      packageType: "Image",
      imageUri: IMAGE,
      architectures: ["arm64"],
      memorySize: 3008,
      timeout: 600,
    });
    expect(image.inputs.runtime).toBeUndefined();
    expect(image.inputs.handler).toBeUndefined();
    // The grid's environment (queues, table, bucket, retention…) as the zip worker has it, plus
    // the command; SST's own variables (its resource links, unused by Tessera) aside.
    const gridEnv = Object.entries(worker.inputs.environment.variables).filter(
      ([k]) => !k.startsWith("SST_"),
    );
    expect(image.inputs.environment.variables).toEqual({
      ...Object.fromEntries(gridEnv),
      TESSERA_WORKER_COMMAND: COMMAND,
      TESSERA_WORKER_CONCURRENCY: "4",
    });
    expect(image.inputs.environment.variables.TESSERA_RETENTION_DAYS).toBe("30");
  });

  it("gives it a role only Lambda may assume, with the worker's grants on its own pool's queues", () => {
    const role = roleOf(g, image);
    const policy =
      typeof role.inputs.assumeRolePolicy === "string"
        ? JSON.parse(role.inputs.assumeRolePolicy)
        : role.inputs.assumeRolePolicy;
    expect(policy.Statement.map((s: any) => s.Principal)).toEqual([{ Service: "lambda.amazonaws.com" }]);
    expect(role.inputs.managedPolicyArns).toEqual([
      "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    ]);
    // Exactly the zip worker's grants, with its pool's queues in place of the worker's.
    const swap = new Map(
      ["high", "normal", "low"].map((c) => [
        queueArn(g, grid.queues.find((q) => q.name === `default-${c}`)!.physicalName),
        queueArn(g, grid.queues.find((q) => q.name === `py-${c}`)!.physicalName),
      ]),
    );
    const expected = [...grants(g, roleOf(g, worker))].map((pair) => {
      const [action, resource] = pair.split(" ") as [string, string];
      return `${action} ${swap.get(resource) ?? resource}`;
    });
    expect([...grants(g, role)].sort()).toEqual(expected.sort());
    for (const pair of grants(g, role)) expect(pair.split(" ")[0], pair).not.toContain("*");
  });

  it("subscribes it to exactly its pool's queues, as the worker is to the others, reporting batch item failures", () => {
    const mappings = ofType(g, "aws:lambda/eventSourceMapping:EventSourceMapping");
    const of = (fn: GraphResource) =>
      mappings.filter((m) => m.inputs.functionName === fn.state.arn).map((m) => m.inputs.eventSourceArn);
    const queuesOf = (pool: string) =>
      grid.queues.filter((q) => q.name.startsWith(`${pool}-`)).map((q) => queueArn(g, q.physicalName));
    expect(of(image).sort()).toEqual(queuesOf("py").sort());
    expect(of(worker).sort()).toEqual(queuesOf("default").sort());
    expect(mappings).toHaveLength(6);
    for (const m of mappings) {
      expect(m.inputs).toMatchObject({
        functionResponseTypes: ["ReportBatchItemFailures"],
        batchSize: 10,
        maximumBatchingWindowInSeconds: 0,
      });
      expect(m.inputs.scalingConfig.maximumConcurrency).toBeGreaterThanOrEqual(2);
    }
  });

  it("hides its queues' tickets for at least six times its timeout (Lambda's rule for a mapping)", () => {
    for (const q of grid.queues.filter((q) => q.name.startsWith("py-"))) {
      const queue = ofType(g, "aws:sqs/queue:Queue").find((r) => r.inputs.name === q.physicalName)!;
      expect(queue.inputs.visibilityTimeoutSeconds).toBeGreaterThanOrEqual(6 * image.inputs.timeout);
    }
  });

  it("tells the API the pool's handlers, and lets it read the pool's task logs", () => {
    const api = ofType(g, "aws:lambda/function:Function").find((f) => f.name.startsWith("ApiRoute"))!;
    const variables = api.inputs.environment.variables;
    const catalogue = JSON.parse(variables.TESSERA_HANDLERS);
    expect(catalogue.py).toEqual({ handlers: ["price-py"], default: null });
    expect(catalogue.default.handlers).toContain("price-european-option");
    // Its log group keeps entries as long as the task records; the API's logs route reads it.
    const group = one(g, "aws:cloudwatch/logGroup:LogGroup", "ImageWorkerpyLogGroup");
    expect(group.inputs).toMatchObject({ name: "/aws/lambda/tessera-graph-worker-py", retentionInDays: 30 });
    expect(image.inputs.loggingConfig.logGroup).toBe(group.state.name);
    expect(variables.TESSERA_TASK_LOG_GROUPS.split(",")).toContain(group.state.name);
    expect(grants(g, roleOf(g, api)).has(`logs:FilterLogEvents ${group.state.arn}:*`)).toBe(true);
  });

  it("alarms on its errors (a pool that cannot start fails its invocations) and throttles", () => {
    const alarms = ofType(g, "aws:cloudwatch/metricAlarm:MetricAlarm").filter(
      (a) => a.inputs.dimensions?.FunctionName === "tessera-graph-worker-py",
    );
    expect(alarms.map((a) => a.inputs.metricName).sort()).toEqual(["Errors", "Throttles"]);
  });

  it("stops the deploy with an error naming the field when a setting is wrong", async () => {
    await expect(
      declareStack({
        env: {
          TESSERA_POOLS: "default,py",
          TESSERA_WORKER_IMAGE_POOLS: JSON.stringify({ py: { image: "python:3.12", command: COMMAND } }),
        },
      }),
    ).rejects.toThrow(/TESSERA_WORKER_IMAGE_POOLS\.py\.image: must be an Amazon ECR image URI/);
  }, 120_000);
});

describe("image pool settings", () => {
  it("take defaults: 2048 MB, 900 s, arm64 unless the setting says x86_64", () => {
    expect(
      imagePoolSettings(["default", "py"], JSON.stringify({ py: { image: IMAGE, command: COMMAND } })),
    ).toEqual({
      py: { image: IMAGE, command: COMMAND, memory: 2048, timeout: 900, arch: "arm64" },
    });
    const digest = `${IMAGE.replace(/:1$/, "")}@sha256:${"a".repeat(64)}`;
    expect(
      imagePoolSettings(["py"], JSON.stringify({ py: { image: digest, command: COMMAND, arch: "x86_64" } }))
        .py,
    ).toMatchObject({ image: digest, arch: "x86_64" });
    expect(imagePoolSettings(["py"], undefined)).toEqual({});
  });

  it("are validated field by field, naming the setting and the field", () => {
    const ok = { image: IMAGE, command: COMMAND };
    const bad: Array<[string, RegExp]> = [
      ["{", /TESSERA_WORKER_IMAGE_POOLS is not valid JSON/],
      ["[]", /TESSERA_WORKER_IMAGE_POOLS must be a JSON object keyed by pool/],
      [JSON.stringify({ gpu: ok }), /TESSERA_WORKER_IMAGE_POOLS\.gpu: not a Lambda pool/],
      [JSON.stringify({ py: { command: COMMAND } }), /TESSERA_WORKER_IMAGE_POOLS\.py\.image: /],
      [
        JSON.stringify({ py: { ...ok, image: "docker.io/library/python:3.12" } }),
        /py\.image: must be an Amazon ECR/,
      ],
      [JSON.stringify({ py: { ...ok, command: " " } }), /py\.command: give the command/],
      [
        JSON.stringify({ py: { ...ok, command: "python3 -m 'x" } }),
        /py\.command: must split as a shell would/,
      ],
      [JSON.stringify({ py: { ...ok, memory: 64 } }), /py\.memory: /],
      [JSON.stringify({ py: { ...ok, timeout: 901 } }), /py\.timeout: /],
      [JSON.stringify({ py: { ...ok, arch: "sparc" } }), /py\.arch: /],
      [JSON.stringify({ py: { ...ok, concurrency: 0 } }), /py\.concurrency: /],
      [
        JSON.stringify({ py: { ...ok, handlers: ["price py"] } }),
        /py\.handlers\[0\]: must be 1-64 characters/,
      ],
      [JSON.stringify({ py: { ...ok, gpus: 1 } }), /TESSERA_WORKER_IMAGE_POOLS\.py: .*gpus/],
    ];
    for (const [json, message] of bad) expect(() => imagePoolSettings(["py"], json), json).toThrow(message);
  });
});
