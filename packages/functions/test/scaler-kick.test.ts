import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { LOCAL_CREDENTIALS } from "@tessera/core/aws";
import { defineTask } from "@tessera/task";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createScalerKick } from "../src/scaler-kick.ts";
import { type Harness, harness } from "./harness.ts";

/** A stand-in for Lambda's Invoke API (REST-JSON) on 127.0.0.1: records invocations. */
async function fakeLambda() {
  const calls: Array<{ path: string; type: string | undefined; body: string }> = [];
  let failNext = false;
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      if (failNext) {
        failNext = false;
        res.writeHead(429, {
          "x-amzn-errortype": "TooManyRequestsException",
          "content-type": "application/json",
        });
        return void res.end(JSON.stringify({ message: "Rate exceeded", Type: "User" }));
      }
      calls.push({
        path: req.url ?? "",
        type: req.headers["x-amz-invocation-type"] as string | undefined,
        body,
      });
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { endpoint, calls, fail: () => (failNext = true), close: () => new Promise((r) => server.close(r)) };
}

describe("waking the fleet scaler on a submit", () => {
  let lambdaFake: Awaited<ReturnType<typeof fakeLambda>>;
  let lambda: LambdaClient;
  beforeAll(async () => {
    lambdaFake = await fakeLambda();
    lambda = new LambdaClient({
      endpoint: lambdaFake.endpoint,
      region: "us-east-1",
      credentials: LOCAL_CREDENTIALS,
      maxAttempts: 1,
    });
  });
  afterAll(async () => {
    lambda.destroy();
    await lambdaFake.close();
  });

  it("invokes the scaler asynchronously for agent pools only, at most once per interval, retrying after a failure", async () => {
    let now = 0;
    const errors: Error[] = [];
    const kick = createScalerKick({
      functionName: "tessera-scaler",
      agentPools: ["gpu"],
      lambda,
      now: () => now,
      onError: (e) => errors.push(e),
    });
    await kick("default"); // a Lambda pool: nothing
    await kick("gpu");
    await kick("gpu"); // within 10 s: nothing
    expect(lambdaFake.calls).toEqual([
      {
        path: "/2015-03-31/functions/tessera-scaler/invocations",
        type: "Event",
        body: JSON.stringify({ source: "tessera.submit", pool: "gpu" }),
      },
    ]);
    now = 10_000;
    lambdaFake.fail();
    await kick("gpu");
    expect(errors).toHaveLength(1);
    await kick("gpu"); // the failed wake does not count against the interval
    expect(lambdaFake.calls).toHaveLength(2);
  });
});

describe("submit → wake", () => {
  let h: Harness;
  const echo = defineTask("echo", z.unknown(), (x) => x);
  beforeAll(async () => {
    h = await harness([echo]);
  });
  afterAll(() => h.close());

  it("tells the runtime which pool got tickets, and says nothing when no ticket was sent", async () => {
    const woken: string[] = [];
    h.runtime.onAgentWork = async (pool) => {
      woken.push(pool);
    };
    await h.call("POST", "/sessions", { body: { sessionId: "w", config: { pool: "default" } } });
    const body = { tasks: [{ index: 0, payload: "1" }] };
    expect((await h.call("POST", "/sessions/w/tasks", { body })).status).toBe(200);
    expect(woken).toEqual(["default"]);
    // The same batch again, once its chunk is claimed: nothing new to run, no wake.
    await h.deliver();
    expect((await h.call("POST", "/sessions/w/tasks", { body })).body).toMatchObject({
      created: 0,
      tickets: 0,
    });
    expect(woken).toEqual(["default"]);
  });
});
