/**
 * The functions' runtime: the grid's ports as `gridPortsFromEnv` builds them (tested in core),
 * plus what only the functions have: auth, session usage and the scaler's wake.
 */
import { describe, expect, it } from "vitest";
import { runtimeFromEnv } from "./runtime.ts";

const ON_AWS = {
  TESSERA_PREFIX: "prod",
  TESSERA_POOLS: "default, gpu",
  TESSERA_QUEUE_URL_BASE: "https://sqs.eu-west-1.amazonaws.com/123456789012",
  TESSERA_BUCKET: "blobsbucket-a1b2c3d",
  TESSERA_LEASE_GRACE_MS: "0",
  TESSERA_TOKENS: '{"t1":"acme"}',
  AWS_REGION: "eu-west-1",
};

describe("runtimeFromEnv", () => {
  it("serves the grid the environment names", () => {
    const { ports } = runtimeFromEnv(ON_AWS);
    expect(ports.grid.pools).toEqual(["default", "gpu"]);
    expect(ports.grid.table.name).toBe("prod-tasks");
    expect(ports.grid.bucketName).toBe("blobsbucket-a1b2c3d");
    expect(ports.timing.leaseGraceMs).toBe(0);
    expect(() => runtimeFromEnv({})).toThrow("TESSERA_QUEUE_URL_BASE is not set");
  });

  it("reads task logs from the log groups TESSERA_TASK_LOG_GROUPS names, and has none without", async () => {
    expect(runtimeFromEnv(ON_AWS).logs).toBeUndefined();
    expect(runtimeFromEnv({ ...ON_AWS, TESSERA_TASK_LOG_GROUPS: " , " }).logs).toBeUndefined();
    const groups = "/aws/lambda/prod-worker, /tessera/prod/agent-tasks";
    const logs = runtimeFromEnv({ ...ON_AWS, TESSERA_TASK_LOG_GROUPS: groups }).logs!;
    // The CloudWatch source loads on the first read, and checks the cursor before any call.
    await expect(logs.read("acme", "s1", { after: "nope", limit: 10, since: 0 })).rejects.toMatchObject({
      code: "VALIDATION",
      field: "query.after",
    });
  });

  it("honours local tokens only with emulator endpoints", () => {
    expect(runtimeFromEnv(ON_AWS).auth).toEqual({ jwtTenantClaim: "tenant", tokens: undefined });
    const local = runtimeFromEnv({ ...ON_AWS, TESSERA_DYNAMODB_ENDPOINT: "http://127.0.0.1:8000" });
    expect(local.auth.tokens?.get("t1")).toBe("acme");
    expect(runtimeFromEnv({ ...ON_AWS, TESSERA_JWT_TENANT_CLAIM: "custom:tenant" }).auth.jwtTenantClaim).toBe(
      "custom:tenant",
    );
    expect(() =>
      runtimeFromEnv({
        TESSERA_QUEUE_URL_BASE: "http://x",
        TESSERA_QUEUE_ENDPOINT: "http://x",
        TESSERA_TOKENS: "[1]",
      }),
    ).toThrow("TESSERA_TOKENS must be a JSON object");
  });

  it("knows what each pool runs from TESSERA_HANDLERS, and says what is wrong with it", () => {
    expect(runtimeFromEnv(ON_AWS).handlers).toBeUndefined();
    const catalogue = { default: { handlers: ["echo", "price"], default: "echo" } };
    expect(runtimeFromEnv({ ...ON_AWS, TESSERA_HANDLERS: JSON.stringify(catalogue) }).handlers).toEqual(
      catalogue,
    );
    expect(() => runtimeFromEnv({ ...ON_AWS, TESSERA_HANDLERS: "{default" })).toThrow(
      "TESSERA_HANDLERS: not valid JSON",
    );
    expect(() =>
      runtimeFromEnv({ ...ON_AWS, TESSERA_HANDLERS: '{"default":{"handlers":["echo"],"default":"price"}}' }),
    ).toThrow("TESSERA_HANDLERS.default.default: must be one of the pool's handlers");
    expect(() => runtimeFromEnv({ ...ON_AWS, TESSERA_HANDLERS: '{"default":["echo"]}' })).toThrow(
      /^TESSERA_HANDLERS\.default: /,
    );
  });

  it("meters sessions unless switched off, and wakes the scaler only when it is configured", () => {
    expect(runtimeFromEnv(ON_AWS).usage).toBeDefined();
    expect(runtimeFromEnv({ ...ON_AWS, TESSERA_SESSION_USAGE: "off" }).usage).toBeUndefined();
    expect(runtimeFromEnv(ON_AWS).onAgentWork).toBeUndefined();
    const kicking = runtimeFromEnv({
      ...ON_AWS,
      TESSERA_SCALER_FUNCTION: "prod-scaler",
      TESSERA_AGENT_POOLS: "gpu",
    });
    expect(kicking.onAgentWork).toBeTypeOf("function");
  });
});
