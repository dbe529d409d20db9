/**
 * The dashboard server against a recording upstream: it adds the credential (bearer or SigV4),
 * refuses foreign Hosts and Origins and routes outside its allow-list, and turns a refused
 * credential or an unreachable grid into what the page shows.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DashboardServer, isAllowedApiRoute, startDashboardServer } from "./dashboard-server.ts";
import { UsageError } from "./profile.ts";
import { sigv4Signer } from "./sigv4.ts";

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

const seen: Seen[] = [];
let upstream: Server;
let endpoint: string;
const assets = mkdtempSync(join(tmpdir(), "tessera-dash-assets-"));
const servers: DashboardServer[] = [];

beforeAll(async () => {
  mkdirSync(join(assets, "assets"));
  writeFileSync(join(assets, "index.html"), "<!doctype html><title>dash</title>");
  writeFileSync(join(assets, "assets", "app.js"), "console.log(1)");
  upstream = createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, headers: req.headers });
    const refused = req.url!.startsWith("/sessions/refused");
    res.writeHead(refused ? 401 : 200, { "content-type": "application/json" });
    res.end(
      JSON.stringify(refused ? { error: { code: "UNAUTHORIZED", message: "bad token" } } : { ok: true }),
    );
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  endpoint = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const s of servers) await s.close();
  await new Promise((r) => upstream.close(r));
});

async function start(options: Partial<Parameters<typeof startDashboardServer>[0]> = {}) {
  const server = await startDashboardServer({
    endpoint,
    token: "secret-token",
    credentialHint: "run `tessera dashboard --token T`",
    port: 0,
    assetsDir: assets,
    ...options,
  });
  servers.push(server);
  return server;
}

/** A raw request (fetch cannot set Host), answering status and parsed body. */
function send(
  server: DashboardServer,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  body: string;
  headers: IncomingHttpHeaders;
  json: () => { error?: { code: string; hint?: string } };
}> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: server.port,
        method,
        path,
        headers: { host: `127.0.0.1:${server.port}`, ...headers },
      },
      (res) => {
        let body = "";
        res.on("data", (d) => {
          body += d;
        });
        res.on("end", () =>
          resolve({ status: res.statusCode!, body, headers: res.headers, json: () => JSON.parse(body) }),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("dashboard server", () => {
  it("forwards an allowed read with the bearer token, keeping the query, and serves the page", async () => {
    const server = await start();
    seen.length = 0;
    const r = await send(server, "GET", "/api/sessions?limit=5&include=summary", { cookie: "a=b" });
    expect(r.status).toBe(200);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: "GET", url: "/sessions?limit=5&include=summary" });
    expect(seen[0]!.headers.authorization).toBe("Bearer secret-token");
    expect(seen[0]!.headers.cookie).toBeUndefined(); // nothing of the browser's is passed on
    const page = await send(server, "GET", "/");
    expect(page.body).toContain("<title>dash</title>");
    expect(page.headers["content-security-policy"]).toContain("default-src 'self'");
    expect((await send(server, "GET", "/assets/app.js")).body).toBe("console.log(1)");
    // The server's own name works too.
    expect((await send(server, "GET", "/", { host: `localhost:${server.port}` })).status).toBe(200);
  });

  it("refuses a foreign Host (DNS rebinding) and a foreign or missing Origin on a state change", async () => {
    const server = await start();
    seen.length = 0;
    const rebound = await send(server, "GET", "/api/sessions", { host: `attacker.example:${server.port}` });
    expect(rebound.status).toBe(403);
    expect(rebound.json().error?.code).toBe("FOREIGN_HOST");
    expect((await send(server, "GET", "/", { host: "127.0.0.1:1" })).status).toBe(403);
    const foreign = await send(server, "POST", "/api/sessions/s1/cancel", {
      origin: "https://attacker.example",
    });
    expect(foreign.json().error?.code).toBe("FOREIGN_ORIGIN");
    const noOrigin = await send(server, "POST", "/api/sessions/s1/cancel");
    expect(noOrigin.status).toBe(403);
    const foreignRead = await send(server, "GET", "/api/sessions", { origin: "http://evil.example" });
    expect(foreignRead.status).toBe(403);
    expect(seen).toHaveLength(0);
    const own = await send(server, "POST", "/api/sessions/s1/cancel", {
      origin: `http://127.0.0.1:${server.port}`,
    });
    expect(own.status).toBe(200);
    expect(seen).toMatchObject([{ method: "POST", url: "/sessions/s1/cancel" }]);
  });

  it("forwards only the dashboard's routes", async () => {
    const server = await start();
    seen.length = 0;
    const origin = `http://127.0.0.1:${server.port}`;
    const create = await send(server, "POST", "/api/sessions", { origin });
    expect(create.status).toBe(404);
    expect(create.json().error?.code).toBe("NOT_FORWARDED");
    expect((await send(server, "POST", "/api/sessions/s1/tasks", { origin })).status).toBe(404);
    expect((await send(server, "GET", "/api/openapi.json")).status).toBe(404);
    expect(seen).toHaveLength(0);
    const table: Array<[string, string, boolean]> = [
      ["GET", "/sessions", true],
      ["GET", "/fleet", true],
      ["GET", "/sessions/risk-0412", true],
      ["GET", "/sessions/risk-0412/failures", true],
      ["GET", "/sessions/risk-0412/history", true],
      ["GET", "/sessions/risk-0412/tasks", true],
      ["GET", "/sessions/risk-0412/logs", true],
      ["GET", "/sessions/risk-0412/tasks/42", true],
      ["POST", "/sessions/risk-0412/close", true],
      ["POST", "/sessions/risk-0412/cancel", true],
      ["GET", "/sessions/risk-0412/cancel", false],
      ["POST", "/sessions", false],
      ["POST", "/sessions/risk-0412/tasks", false],
      ["POST", "/sessions/risk-0412/uploads", false],
      ["POST", "/sessions/risk-0412/tasks/42/cancel", false],
      ["GET", "/sessions/risk-0412/results", false],
      ["GET", "/sessions/../fleet", false],
      ["GET", "/sessions/a/tasks/..", false],
      ["DELETE", "/sessions/risk-0412", false],
    ];
    for (const [method, path, allowed] of table)
      expect([method, path, isAllowedApiRoute(method, path)]).toEqual([method, path, allowed]);
  });

  it("signs each request with SigV4 for an IAM grid, and sends no bearer token", async () => {
    const signer = sigv4Signer({
      region: "eu-west-1",
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
      signingDate: new Date("2026-11-24T10:00:00Z"),
    });
    const server = await start({ token: undefined, signer });
    seen.length = 0;
    await send(server, "GET", "/api/sessions/s1?x=1");
    const headers = seen[0]!.headers;
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20261124\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[^,]*host[^,]*, Signature=[0-9a-f]{64}$/,
    );
    expect(headers["x-amz-date"]).toBe("20261124T100000Z");
  });

  it("turns a refused credential into the fix, and an unreachable grid into a retryable 502", async () => {
    const server = await start();
    const refused = await send(server, "GET", "/api/sessions/refused");
    expect(refused.status).toBe(401);
    expect(refused.json().error).toMatchObject({
      code: "CREDENTIALS_REFUSED",
      hint: "run `tessera dashboard --token T`",
    });
    expect(refused.body).not.toContain("secret-token");
    const dead = await start({ endpoint: "http://127.0.0.1:1" });
    const unreachable = await send(dead, "GET", "/api/sessions");
    expect(unreachable.status).toBe(502);
    expect(unreachable.json().error?.code).toBe("GRID_UNREACHABLE");
  });

  it("says in one line when the front end is not built, or the port is taken", async () => {
    await expect(start({ assetsDir: mkdtempSync(join(tmpdir(), "tessera-dash-empty-")) })).rejects.toThrow(
      UsageError,
    );
    const taken = await start();
    await expect(start({ port: taken.port })).rejects.toThrow(`port ${taken.port} on 127.0.0.1 is in use`);
  });
});
