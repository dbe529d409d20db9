/**
 * Test tooling: instantiates the real stack (sst.config.ts → infra/, through SST's own
 * components) offline, under Pulumi's runtime mocks, and returns every resource it declares
 * with its resolved inputs — the IAM policy documents, event source mappings, API routes and
 * alarms exactly as SST expands them. Needs the platform that `npm run typecheck:infra`
 * installs in .sst/platform (npm test runs that first).
 *
 * SST's CLI evaluates the config by bundling it with esbuild, injecting its shim (the `$`
 * helpers) and setting the globals `$app`, `$cli` and `$dev`; components ask the CLI over RPC
 * to build function code. This does the same: scripts/sst-graph/mocks.mjs sets the globals and
 * mocks, and a small RPC server here answers the CLI's calls, checking that each function's
 * handler file exists instead of bundling it.
 *
 *   node scripts/sst-graph.ts [--dev] > graph.json
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const platform = join(root, ".sst", "platform");

/** One declared resource. */
export interface GraphResource {
  type: string;
  name: string;
  // biome-ignore lint/suspicious/noExplicitAny: Pulumi inputs of any resource type
  inputs: Record<string, any>;
  /** What the mocks answered: the ARN, name and URL other resources see. */
  state: { arn: string; name: string; url?: string };
}

/** What the stack declared. */
export interface Graph {
  resources: GraphResource[];
  outputs: Record<string, unknown>;
  /** Functions SST asked the CLI to build: logical id → handler. */
  builds: Record<
    string,
    {
      handler: string;
      runtime: string;
      architecture: string;
      /** Packages installed beside the bundle instead of bundled (`nodejs.install`). */
      install: Record<string, string>;
    }
  >;
  /** Provider functions the mocks did not model (their inputs were echoed back). */
  unknownCalls: string[];
}

export interface GraphOptions {
  /** Deploy-time settings (TESSERA_* variables). */
  env?: Record<string, string>;
  /** Evaluate as `sst dev` does. */
  dev?: boolean;
  stage?: string;
}

/** A handler like `dir/file.handler` exists as dir/file.{ts,js,mjs} exporting that name. */
function handlerError(handler: string): string | undefined {
  const dot = handler.lastIndexOf(".");
  const base = handler.slice(0, dot);
  const name = handler.slice(dot + 1);
  const file = [".ts", ".mts", ".js", ".mjs"].map((ext) => join(root, base + ext)).find(existsSync);
  if (!file) return `handler ${handler}: no file ${base}.ts or .js`;
  const source = readFileSync(file, "utf8");
  const exported = new RegExp(
    `export\\s+(const|let|async function|function)\\s+${name}\\b|export\\s*{[^}]*\\b${name}\\b`,
  );
  return exported.test(source) ? undefined : `handler ${handler}: ${file} exports no ${name}`;
}

async function bundle(): Promise<string> {
  const esbuildPath = join(platform, "node_modules", "esbuild", "lib", "main.js");
  if (!existsSync(esbuildPath)) {
    throw new Error("SST's platform is not installed in .sst/platform: run `npm run typecheck:infra` first");
  }
  const esbuild = (await import(esbuildPath)).default as {
    build(options: Record<string, unknown>): Promise<{ errors: unknown[] }>;
  };
  const src = join(platform, "src");
  const entry = `
import { declare } from ${JSON.stringify(join(root, "scripts", "sst-graph", "mocks.mjs"))};
import * as aws from ${JSON.stringify(join(src, "components", "aws", "index.ts"))};
import * as x from ${JSON.stringify(join(src, "components", "experimental", "index.ts"))};
import { run } from ${JSON.stringify(join(src, "auto", "run.ts"))};
import config from ${JSON.stringify(join(root, "sst.config.ts"))};
await declare(config, run, { aws, x });
`;
  // Inside .sst/platform so that the providers resolve from its node_modules.
  // One file per declaration: a test declares several stacks at once.
  const outfile = join(platform, ".graph", `eval-${process.pid}-${randomUUID()}.mjs`);
  mkdirSync(join(platform, ".graph"), { recursive: true });
  await esbuild.build({
    stdin: { contents: entry, resolveDir: root, loader: "ts" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    packages: "external",
    inject: [join(src, "shim", "run.js")],
    outfile,
    logLevel: "error",
    banner: {
      js: 'import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);',
    },
  });
  return outfile;
}

/** Declares the stack under mocks and returns its resources. */
export async function declareStack(options: GraphOptions = {}): Promise<Graph> {
  const work = mkdtempSync(join(tmpdir(), "tessera-graph-"));
  const builds: Graph["builds"] = {};
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      const { method, params, id } = JSON.parse(body) as { method: string; params: unknown[]; id: unknown };
      // biome-ignore lint/suspicious/noExplicitAny: the CLI's JSON-RPC arguments
      const input = (params?.[0] ?? {}) as any;
      let result: unknown = {};
      let error: string | null = null;
      if (method === "Runtime.Build") {
        const problem = handlerError(String(input.handler));
        builds[input.functionID] = {
          handler: input.handler,
          runtime: input.runtime,
          architecture: input.properties?.architecture,
          install: input.properties?.install ?? {},
        };
        const out = join(work, "build", String(input.functionID));
        mkdirSync(out, { recursive: true });
        writeFileSync(join(out, "index.mjs"), "export const handler = async () => {};\n");
        result = { handler: "index.handler", out, errors: problem ? [problem] : [], sourcemaps: [] };
      } else if (method === "Provider.Aws.Bootstrap") {
        result = {
          asset: "sst-asset-graph",
          assetEcrRegistryId: "123456789012",
          assetEcrUrl: "123456789012.dkr.ecr.us-east-1.amazonaws.com/sst-asset",
          state: "sst-state-graph",
          appsyncHttp: "",
          appsyncRealtime: "",
        };
      } else if (method === "Provider.Aws.Appsync") {
        result = { http: "appsync-http.graph", realtime: "appsync-realtime.graph" };
      } else if (method === "Runtime.AddTarget") {
        result = {};
      } else {
        error = `rpc: can't find method ${method}`;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ id, result, error }));
    });
  });
  // SST's shim keeps its connection alive between calls, which the agent's bundling can space
  // out beyond Node's 5 s default: a server closing it then would cut a call short.
  server.keepAliveTimeout = 600_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    const file = await bundle();
    const out = join(work, "graph.json");
    const stage = options.stage ?? "graph";
    const env: Record<string, string | undefined> = {
      ...process.env,
      ...options.env,
      SST_SERVER: `http://127.0.0.1:${port}`,
      SST_STAGE: stage,
      TESSERA_GRAPH_OUT: out,
      TESSERA_GRAPH_ROOT: root,
      TESSERA_GRAPH_WORK: work,
      TESSERA_GRAPH_PLATFORM: platform,
      TESSERA_GRAPH_DEV: options.dev ? "1" : "0",
    };
    try {
      const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
        const child = spawn(process.execPath, [file], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
        let output = "";
        child.stdout.on("data", (c) => {
          output += c;
        });
        child.stderr.on("data", (c) => {
          output += c;
        });
        child.on("close", (c) => resolve({ code: c, output }));
      });
      if (code !== 0 || !existsSync(out)) {
        throw new Error(`declaring the stack failed (exit ${code}):\n${output.trim()}`);
      }
      const graph = JSON.parse(readFileSync(out, "utf8")) as Omit<Graph, "builds">;
      return { ...graph, builds };
    } finally {
      rmSync(file, { force: true });
    }
  } finally {
    server.close();
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const graph = await declareStack({ dev: process.argv.includes("--dev") });
  process.stdout.write(`${JSON.stringify(graph, null, 2)}\n`);
}
