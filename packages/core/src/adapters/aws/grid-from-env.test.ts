/** A grid process's ports from its environment, as the functions and the agents build them. */
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, inject, it } from "vitest";
import { createSession } from "../../dispatch/sessions.ts";
import { queueUrlsOf } from "../../resources.ts";
import { provisionTestGrid } from "../../testing/aws-test-grid.ts";
import { LOCAL_CREDENTIALS } from "./clients.ts";
import { gridPortsFromEnv, sessionUsageFor } from "./grid-from-env.ts";

const ON_AWS = {
  TESSERA_PREFIX: "prod",
  TESSERA_POOLS: "default, gpu",
  TESSERA_QUEUE_URL_BASE: "https://sqs.eu-west-1.amazonaws.com/123456789012",
  AWS_REGION: "eu-west-1",
};

/** The environment of a process on the emulators, for a grid provisioned there. */
async function emulatedGrid() {
  const t = await provisionTestGrid(inject("emulators"));
  const endpoints = inject("emulators");
  const anyUrl = Object.values(t.queueUrls)[0]!;
  const env = {
    TESSERA_PREFIX: t.grid.table.name.replace(/-tasks$/, ""),
    TESSERA_QUEUE_URL_BASE: anyUrl.slice(0, anyUrl.lastIndexOf("/")),
    TESSERA_DYNAMODB_ENDPOINT: endpoints.dynamoEndpoint,
    TESSERA_QUEUE_ENDPOINT: endpoints.queueEndpoint,
  };
  return { t, env };
}

describe("gridPortsFromEnv", () => {
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

  it("reads the grid, its bucket and its region from the environment", async () => {
    const onAws = gridPortsFromEnv(ON_AWS);
    expect(onAws.ports.grid.pools).toEqual(["default", "gpu"]);
    expect(onAws.ports.grid.table.name).toBe("prod-tasks");
    expect(onAws.emulated).toBe(false);
    expect(await onAws.clients.sqs.config.region()).toBe("eu-west-1");
    // The stack names the bucket (names are global); without it, the local grid's name.
    expect(onAws.ports.grid.bucketName).toBe("prod-blobs");
    expect(gridPortsFromEnv({ ...ON_AWS, TESSERA_BUCKET: "blobsbucket-a1b2c3d" }).ports.grid.bucketName).toBe(
      "blobsbucket-a1b2c3d",
    );
    const defaults = gridPortsFromEnv({ TESSERA_QUEUE_URL_BASE: "http://x" }).ports.grid;
    expect([defaults.table.name, defaults.pools]).toEqual(["tessera-tasks", ["default"]]);
  });

  it("uses dummy credentials with emulator endpoints, and reaches the grid there", async () => {
    const { t, env } = await emulatedGrid();
    try {
      const local = gridPortsFromEnv(env);
      expect(local.emulated).toBe(true);
      for (const client of [local.clients.dynamo, local.clients.sqs, local.clients.s3])
        expect(await client.config.credentials()).toMatchObject(LOCAL_CREDENTIALS);
      await createSession(local.ports, "acme", { sessionId: "from-env" });
      const out = await t.clients.doc.send(
        new GetCommand({ TableName: t.grid.table.name, Key: { pk: "T#acme#S#from-env", sk: "#SESSION" } }),
      );
      expect(out.Item).toBeDefined();
    } finally {
      t.close();
    }
  });

  it("takes the reaper's timing from the environment", () => {
    const base = { TESSERA_QUEUE_URL_BASE: "http://x" };
    expect(gridPortsFromEnv({ ...base, TESSERA_LEASE_GRACE_MS: "0" }).ports.timing).toEqual({
      ticketGraceMs: 15 * 60_000,
      leaseGraceMs: 0,
    });
    expect(() => gridPortsFromEnv({ ...base, TESSERA_TICKET_GRACE_MS: "soon" })).toThrow(
      'TESSERA_TICKET_GRACE_MS must be a whole number of milliseconds (got "soon")',
    );
  });

  it("names what is missing", () => {
    expect(() => gridPortsFromEnv({})).toThrow("TESSERA_QUEUE_URL_BASE is not set");
  });

  it("keeps table items for TESSERA_RETENTION_DAYS after their last write, and refuses a bad one naming it", async () => {
    const { t, env } = await emulatedGrid();
    const expiryOf = async (retention: Record<string, string>, sessionId: string) => {
      const { ports } = gridPortsFromEnv({ ...env, ...retention });
      const before = Math.floor(Date.now() / 1000);
      await createSession(ports, "acme", { sessionId });
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
      expect(() => gridPortsFromEnv({ ...env, TESSERA_RETENTION_DAYS: raw })).toThrow(
        `TESSERA_RETENTION_DAYS must be a whole number of days, at least 1 (got "${raw}")`,
      );
  });
});

describe("sessionUsageFor", () => {
  it("charges each call of the grid's clients to its session, unless TESSERA_SESSION_USAGE=off", async () => {
    const { t, env } = await emulatedGrid();
    try {
      const { ports, clients } = gridPortsFromEnv(env);
      expect(sessionUsageFor(clients, ports, { TESSERA_SESSION_USAGE: "off" })).toBeUndefined();
      const usage = sessionUsageFor(clients, ports, {})!;
      await createSession(ports, "acme", { sessionId: "metered" });
      const drained = usage.recorder.drain();
      const session = drained.find((d) => d.session.sessionId === "metered");
      expect(Object.keys(session?.counters ?? {}).some((k) => k.startsWith("op|DynamoDB|"))).toBe(true);
    } finally {
      t.close();
    }
  });
});
