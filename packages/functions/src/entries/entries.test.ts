import { describe, expect, it } from "vitest";
import { httpEvent, lambdaContext } from "../../test/harness.ts";

describe("Lambda entries", () => {
  it("load from the environment alone and serve requests", async () => {
    process.env.TESSERA_QUEUE_URL_BASE = "https://sqs.us-east-1.amazonaws.com/123456789012";
    const { handler } = await import("./api.ts");
    const doc = (await handler(httpEvent("GET", "/openapi.json", { as: null }), lambdaContext())) as {
      statusCode: number;
    };
    expect(doc.statusCode).toBe(200);
    // No credentials: rejected before any AWS call (there is no AWS here).
    const denied = (await handler(httpEvent("GET", "/sessions", { as: null }), lambdaContext())) as {
      statusCode: number;
      body: string;
    };
    expect(denied.statusCode).toBe(401);
    expect(JSON.parse(denied.body).error.code).toBe("UNAUTHORIZED");
    expect(typeof (await import("./reaper.ts")).handler).toBe("function");
    expect(typeof (await import("./scaler.ts")).handler).toBe("function");
    expect(typeof (await import("../../../../examples/worker.ts")).handler).toBe("function");
  });
});
