import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpClient } from "./http.ts";
import { nodeTransport } from "./transport.ts";

/** A server whose answer each test chooses; it records the bodies it received and the sockets used. */
let server: Server;
let base: string;
let answer: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;
const sockets = new Set<unknown>();

beforeAll(async () => {
  server = createServer((req, res) => {
    sockets.add(req.socket);
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => answer(req, res, Buffer.concat(chunks)));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe("the node:http transport", () => {
  it("sends the method, headers and UTF-8 body, and reads status, headers and text", async () => {
    answer = (req, res, body) => {
      res.setHeader("retry-after", "3");
      res.writeHead(201, { "content-type": "application/json" });
      res.end(JSON.stringify({ method: req.method, auth: req.headers.authorization, body: body.toString() }));
    };
    const response = await nodeTransport({
      method: "POST",
      url: new URL(`${base}/x`),
      headers: { authorization: "Bearer t" },
      body: Buffer.from('{"a":"漢"}'),
      signal: undefined,
      timeoutMs: 5_000,
    });
    expect(response.status).toBe(201);
    expect(response.header("retry-after")).toBe("3");
    expect(JSON.parse(response.text)).toEqual({ method: "POST", auth: "Bearer t", body: '{"a":"漢"}' });
  });

  it("reuses its connection between requests (keep-alive)", async () => {
    answer = (_req, res) => res.end("{}");
    sockets.clear();
    const client = new HttpClient({ endpoint: base });
    for (let i = 0; i < 5; i++) await client.request("GET", "/ping");
    expect(sockets.size).toBe(1);
  });

  it("fails a request past its time with a TimeoutError, which the client reports as TIMEOUT", async () => {
    answer = () => {}; // never answers
    await expect(
      nodeTransport({
        method: "GET",
        url: new URL(`${base}/slow`),
        headers: {},
        body: undefined,
        signal: undefined,
        timeoutMs: 100,
      }),
    ).rejects.toMatchObject({ name: "TimeoutError" });
    const client = new HttpClient({ endpoint: base, timeoutMs: 100, maxRetries: 0 });
    await expect(client.request("GET", "/slow")).rejects.toMatchObject({ code: "TIMEOUT" });
  });

  it("rejects with the caller's abort reason, before or during the request", async () => {
    answer = () => {};
    const reason = new Error("stop");
    const request = (signal: AbortSignal) =>
      nodeTransport({
        method: "GET",
        url: new URL(`${base}/held`),
        headers: {},
        body: undefined,
        signal,
        timeoutMs: 10_000,
      });
    await expect(request(AbortSignal.abort(reason))).rejects.toBe(reason);
    const controller = new AbortController();
    const pending = request(controller.signal);
    setTimeout(() => controller.abort(reason), 50);
    await expect(pending).rejects.toBe(reason);
  });

  it("reports an unreachable host as a network error the client names", async () => {
    const closed = createServer();
    closed.listen(0, "127.0.0.1");
    await once(closed, "listening");
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const client = new HttpClient({ endpoint: `http://127.0.0.1:${port}`, maxRetries: 0 });
    await expect(client.request("GET", "/x")).rejects.toMatchObject({ code: "NETWORK" });
  });
});
