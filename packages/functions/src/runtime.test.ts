import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { createSession, queueUrlsOf } from "@tessera/core";
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
    // The stack names the bucket (names are global); without it, the local grid's name.
    expect(onAws.ports.grid.bucketName).toBe("prod-blobs");
    expect(runtimeFromEnv({ ...env, TESSERA_BUCKET: "blobsbucket-a1b2c3d" }).ports.grid.bucketName).toBe(
      "blobsbucket-a1b2c3d",
    );
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

  it("keeps table items for TESSERA_RETENTION_DAYS after their last write, and refuses a bad one naming it", async () => {
    const t = await provisionTestGrid(inject("emulators"));
    const endpoints = inject("emulators");
    const anyUrl = Object.values(t.queueUrls)[0]!;
    const env = {
      TESSERA_PREFIX: t.grid.table.name.replace(/-tasks$/, ""),
      TESSERA_QUEUE_URL_BASE: anyUrl.slice(0, anyUrl.lastIndexOf("/")),
      TESSERA_DYNAMODB_ENDPOINT: endpoints.dynamoEndpoint,
      TESSERA_QUEUE_ENDPOINT: endpoints.queueEndpoint,
    };
    const expiryOf = async (retention: Record<string, string>, sessionId: string) => {
      const runtime = runtimeFromEnv({ ...env, ...retention });
      const before = Math.floor(Date.now() / 1000);
      await createSession(runtime.ports, "acme", { sessionId });
      const out = await t.clients.doc.send(
        new GetCommand({
          TableName: t.grid.table.name,
          Key: { pk: `T#acme#S#${sessionId}`, sk: "#SESSION" },
        }),
      );
      return (out.Item?.expiresAt as number) - before;
    };
    try {
      const day = 24 * 60 * 60;
      // Seconds from just before the write: the retention, give or take the write's own time.
      const seven = await expiryOf({ TESSERA_RETENTION_DAYS: "7" }, "seven");
      expect([seven >= 7 * day, seven <= 7 * day + 2]).toEqual([true, true]);
      for (const [retention, sessionId] of [
        [{}, "unset"],
        [{ TESSERA_RETENTION_DAYS: "" }, "empty"],
      ] as const) {
        const thirty = await expiryOf(retention, sessionId);
        expect([thirty >= 30 * day, thirty <= 30 * day + 2]).toEqual([true, true]);
      }
    } finally {
      t.close();
    }
    for (const raw of ["0", "-3", "1.5", "a week", "30d"])
      expect(() => runtimeFromEnv({ ...env, TESSERA_RETENTION_DAYS: raw })).toThrow(
        `TESSERA_RETENTION_DAYS must be a whole number of days, at least 1 (got "${raw}")`,
      );
  });
});
