import { queueUrlsOf } from "@tessera/core";
import { provisionTestGrid } from "@tessera/core/testing/aws";
import { describe, expect, inject, it } from "vitest";
import { runtimeFromEnv } from "./runtime.ts";

describe("runtimeFromEnv", () => {
  it("derives queue URLs that match the queues provisioned on the emulator", async () => {
    const t = await provisionTestGrid(inject("emulators"));
    try {
      const anyUrl = Object.values(t.queueUrls)[0]!;
      const base = anyUrl.slice(0, anyUrl.lastIndexOf("/"));
      expect(queueUrlsOf(t.grid, base)).toEqual(t.queueUrls);
    } finally {
      t.close();
    }
  });

  it("reads the grid from the environment and honours local tokens only with emulator endpoints", () => {
    const env = {
      TESSERA_PREFIX: "prod",
      TESSERA_POOLS: "default, gpu",
      TESSERA_QUEUE_URL_BASE: "https://sqs.eu-west-1.amazonaws.com/123456789012",
      TESSERA_TOKENS: '{"t1":"acme"}',
      AWS_REGION: "eu-west-1",
    };
    const onAws = runtimeFromEnv(env);
    expect(onAws.ports.grid.pools).toEqual(["default", "gpu"]);
    expect(onAws.ports.grid.table.name).toBe("prod-tasks");
    expect(onAws.auth).toEqual({ jwtTenantClaim: "tenant", tokens: undefined });
    const local = runtimeFromEnv({ ...env, TESSERA_DYNAMODB_ENDPOINT: "http://127.0.0.1:8000" });
    expect(local.auth.tokens?.get("t1")).toBe("acme");
  });

  it("takes the reaper's timing from the environment", () => {
    const base = { TESSERA_QUEUE_URL_BASE: "http://x" };
    expect(runtimeFromEnv({ ...base, TESSERA_LEASE_GRACE_MS: "0" }).ports.timing).toEqual({
      ticketGraceMs: 15 * 60_000,
      leaseGraceMs: 0,
    });
    expect(() => runtimeFromEnv({ ...base, TESSERA_TICKET_GRACE_MS: "soon" })).toThrow(
      'TESSERA_TICKET_GRACE_MS must be a whole number of milliseconds (got "soon")',
    );
  });

  it("names what is missing", () => {
    expect(() => runtimeFromEnv({})).toThrow("TESSERA_QUEUE_URL_BASE is not set");
    expect(() =>
      runtimeFromEnv({
        TESSERA_QUEUE_URL_BASE: "http://x",
        TESSERA_QUEUE_ENDPOINT: "http://x",
        TESSERA_TOKENS: "[1]",
      }),
    ).toThrow("TESSERA_TOKENS must be a JSON object");
  });
});
