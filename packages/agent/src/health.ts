/**
 * The agent's health and metrics endpoint: `GET /health` (200 while running, 503 while
 * draining or stopped, for load balancers and Kubernetes probes) and `GET /metrics` (the
 * counters as JSON).
 */
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import type { Agent } from "./agent.ts";

/** A listening health server. */
export interface HealthServer {
  url: string;
  close(): Promise<void>;
}

/** Serves `agent`'s health on `host:port` (port 0 picks a free one). */
export function startHealthServer(
  agent: Agent,
  options: { host?: string; port?: number } = {},
): Promise<HealthServer> {
  const app = new Hono();
  app.get("/health", (c) => {
    const stats = agent.stats();
    return c.json({ status: stats.state, owner: stats.owner }, stats.state === "running" ? 200 : 503);
  });
  app.get("/metrics", (c) => c.json(agent.stats()));
  const host = options.host ?? "127.0.0.1";
  return new Promise((resolve, reject) => {
    const server = serve(
      { fetch: app.fetch, hostname: host, port: options.port ?? 0 },
      (info: AddressInfo) => {
        resolve({
          url: `http://${host.includes(":") ? `[${host}]` : host}:${info.port}`,
          close: () => new Promise((done) => server.close(() => done())),
        });
      },
    );
    server.on("error", reject);
  });
}
