/**
 * The local HTTP server: turns each request into the API Gateway HTTP API event (payload format
 * 2.0) that the API function receives on AWS, and its result back into a response. The handler
 * is the deployed one; only the transport differs.
 */
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { Hono } from "hono";

/** A function with the API's signature. */
export type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>;

/** A Lambda context for a local invocation with `timeoutMs` to run. */
export function localContext(name: string, timeoutMs: number): Context {
  const end = Date.now() + timeoutMs;
  const id = randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: name,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${name}`,
    memoryLimitInMB: "1024",
    awsRequestId: id,
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: `local/${process.pid}`,
    getRemainingTimeInMillis: () => Math.max(0, end - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** A listening local API. */
export interface HttpBridge {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Serves `handler` on 127.0.0.1:`port`. Rejects with EADDRINUSE when the port is taken. */
export function startHttpBridge(handler: HttpHandler, port: number): Promise<HttpBridge> {
  const app = new Hono();
  app.all("*", async (c) => {
    const url = new URL(c.req.url);
    const headers: Record<string, string> = {};
    c.req.raw.headers.forEach((value, name) => {
      headers[name.toLowerCase()] = value;
    });
    const body = ["GET", "HEAD"].includes(c.req.method) ? "" : await c.req.text();
    const query: Record<string, string> = {};
    url.searchParams.forEach((value, name) => {
      query[name] = query[name] === undefined ? value : `${query[name]},${value}`;
    });
    const event: APIGatewayProxyEventV2 = {
      version: "2.0",
      routeKey: "$default",
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
      headers,
      ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
      requestContext: {
        accountId: "000000000000",
        apiId: "local",
        domainName: url.host,
        domainPrefix: "local",
        http: {
          method: c.req.method,
          path: url.pathname,
          protocol: "HTTP/1.1",
          sourceIp: "127.0.0.1",
          userAgent: headers["user-agent"] ?? "",
        },
        requestId: randomUUID(),
        routeKey: "$default",
        stage: "$default",
        time: new Date().toUTCString(),
        timeEpoch: Date.now(),
      },
      ...(body !== "" ? { body } : {}),
      isBase64Encoded: false,
    };
    const result = (await handler(
      event,
      localContext("tessera-api", 30_000),
    )) as APIGatewayProxyStructuredResultV2;
    return new Response(result.body ?? null, {
      status: result.statusCode ?? 200,
      headers: Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)])),
    });
  });
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port }, (info: AddressInfo) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        port: info.port,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
    server.on("error", reject);
  });
}
