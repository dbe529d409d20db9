/**
 * A scripted stand-in for the Tessera API (our own API, not an AWS client): a node:http server
 * on 127.0.0.1 that answers the results and status routes of one session, and result links,
 * from functions the test gives, and records every request.
 */
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ResultsPage, SessionStatus, WireResult } from "../src/types.ts";

/** An answer: a JSON body (200), or a status with a body. */
export type StubAnswer = unknown | { status: number; body: string };

/** What the stub answers, per route; `n` counts the calls of that route (of that blob) from 0. */
export interface StubScript {
  /** POST /sessions/{id}/results, given the request body. */
  results?: (body: { cursor?: string; limit?: number }, n: number) => ResultsPage;
  /** GET /sessions/{id}. */
  status?: (n: number) => SessionStatus;
  /** GET /blobs/{name}: result links; undefined holds the request open (never answered). */
  blob?: (name: string, n: number) => StubAnswer | undefined;
}

export interface StubApi {
  url: string;
  /** `METHOD /path` of every request, in order. */
  requests: string[];
  /** A result link served by `blob`. */
  blobUrl(name: string): string;
  close(): Promise<void>;
}

/** Starts the stub on a free port; close it in `afterAll` or `finally`. */
export async function startStubApi(script: StubScript): Promise<StubApi> {
  const requests: string[] = [];
  const calls = new Map<string, number>();
  const next = (route: string) => {
    const n = calls.get(route) ?? 0;
    calls.set(route, n + 1);
    return n;
  };
  const send = (res: ServerResponse, status: number, body: string, type = "application/json") => {
    res.writeHead(status, { "content-type": type }).end(body);
  };
  const server = createServer(async (req, res) => {
    let text = "";
    for await (const chunk of req) text += chunk;
    const path = new URL(req.url ?? "/", "http://stub").pathname;
    requests.push(`${req.method} ${path}`);
    const blob = /^\/blobs\/(.+)$/.exec(path);
    if (req.method === "GET" && blob && script.blob) {
      const answer = script.blob(blob[1]!, next(`blob ${blob[1]}`));
      if (answer === undefined) return; // held open: the test aborts it
      if (isRaw(answer)) return send(res, answer.status, answer.body, "application/xml");
      return send(res, 200, JSON.stringify(answer), "application/octet-stream");
    }
    if (req.method === "POST" && /^\/sessions\/[^/]+\/results$/.test(path) && script.results) {
      return send(res, 200, JSON.stringify(script.results(JSON.parse(text || "{}"), next("results"))));
    }
    if (req.method === "GET" && /^\/sessions\/[^/]+$/.test(path) && script.status) {
      return send(res, 200, JSON.stringify(script.status(next("status"))));
    }
    send(
      res,
      404,
      JSON.stringify({ error: { code: "NOT_FOUND", message: `stub: no ${req.method} ${path}` } }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    blobUrl: (name) => `${url}/blobs/${name}?X-Amz-Signature=stub`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function isRaw(answer: StubAnswer): answer is { status: number; body: string } {
  return typeof answer === "object" && answer !== null && "status" in answer && "body" in answer;
}

/** A succeeded task's wire result with an inline output. */
export function succeeded(index: number, output: unknown = index): WireResult {
  return { taskId: String(index), status: "SUCCEEDED", attempt: 1, result: JSON.stringify(output) };
}

/** A session status as the API reports it. */
export function sessionStatus(
  state: SessionStatus["state"],
  total: number,
  finished: number,
  settled: boolean,
): SessionStatus {
  const at = "2026-01-01T00:00:00.000Z";
  return {
    sessionId: "s",
    state,
    config: {
      pool: "default",
      priority: "normal",
      maxAttempts: 3,
      leaseMs: 30_000,
      chunkMaxTasks: 100,
      chunkMaxBytes: 262_144,
      backoffBaseMs: 1_000,
      taskTimeoutMs: 3_600_000,
      backoffMaxMs: 60_000,
    },
    tags: {},
    createdAt: at,
    updatedAt: at,
    counts: { total, queued: total - finished, running: 0, succeeded: finished, failed: 0, cancelled: 0 },
    progress: total === 0 ? 1 : finished / total,
    settled,
  };
}
