/**
 * The SDK, the CLI and the agent as a user outside this repository gets them: packed by
 * scripts/pack-packages.ts, installed from their tarballs into an empty project, and run there
 * with the machine's own Node (not this repository's Node 24) against a local grid.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join, sep } from "node:path";
import { type LocalGrid, loadConfig, startLocalGrid } from "@tessera/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packPackages } from "../../../scripts/pack-packages.ts";

const repo = new URL("../../../", import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), "tessera-pack-"));
const project = join(work, "project");
/** The external pool the installed agent serves (the grid starts nothing on it). */
const POOL = "outside";

/**
 * A user's environment: no `node_modules/.bin` of this repository on the PATH (its `node` is
 * Node 24), none of the npm settings of a script that started the tests, no profile.
 */
const userEnv: Record<string, string> = {
  ...Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] =>
        e[1] !== undefined && !/^npm_/i.test(e[0]) && e[0] !== "NODE_OPTIONS" && !e[0].startsWith("VITEST"),
    ),
  ),
  PATH: (process.env.PATH ?? "")
    .split(delimiter)
    .filter((dir) => !dir.includes(`node_modules${sep}.bin`))
    .join(delimiter),
  TESSERA_CONFIG: join(work, "no-profile.json"),
};

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `command` in the project as the user would, with `stdin` as its input. */
function run(
  command: string,
  args: string[],
  options: { stdin?: string; env?: Record<string, string>; signal?: AbortSignal } = {},
) {
  const child = spawn(command, args, {
    cwd: project,
    env: { ...userEnv, ...options.env },
    signal: options.signal,
  });
  const out: Run = { code: null, stdout: "", stderr: "" };
  child.stdout.on("data", (d) => (out.stdout += d));
  child.stderr.on("data", (d) => (out.stderr += d));
  child.stdin.end(options.stdin ?? "");
  return new Promise<Run>((resolve, reject) => {
    child.on("error", (error) => (error.name === "AbortError" ? undefined : reject(error)));
    child.on("close", (code) => resolve({ ...out, code }));
  });
}

let grid: LocalGrid;
let agent: ChildProcess | undefined;
const connection = () => ["--endpoint", grid.apiUrl, "--token", grid.token];

beforeAll(async () => {
  const { tarballs } = packPackages({ outDir: join(work, "tarballs") });
  mkdirSync(project);
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "outside", private: true, type: "module" }),
  );
  // A user's SDK script: a session (id, pool, handler from argv) of 20 tasks, its outputs in order.
  writeFileSync(
    join(project, "sdk.mjs"),
    [
      `import { Tessera } from "@tessera/client";`,
      `const tessera = new Tessera({ endpoint: process.env.TESSERA_URL, token: process.env.TESSERA_TOKEN });`,
      `const session = await tessera.createSession({ sessionId: process.argv[2], config: { pool: process.argv[3] } });`,
      `const inputs = Array.from({ length: 20 }, (_, x) => ({ x }));`,
      `await session.submit(inputs, { handler: process.argv[4], close: true });`,
      `const outputs = [];`,
      `for await (const r of session.results()) outputs[r.index] = r.error ? r.error.message : r.output;`,
      `console.log(JSON.stringify(outputs));`,
    ].join("\n"),
  );
  const started = performance.now();
  const install = await run("npm", [
    "install",
    ...Object.values(tarballs),
    "--no-audit",
    "--no-fund",
    "--prefer-offline",
  ]);
  console.log(
    `npm install of ${Object.keys(tarballs).join(", ")}: ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  expect(install.code, install.stderr).toBe(0);
  // Every installed package, ours and what they pull in, runs on the Node that installed them.
  expect(install.stderr).not.toContain("EBADENGINE");

  grid = await startLocalGrid({
    ...loadConfig(repo, {}),
    dataDir: mkdtempSync(join(work, "grid-")),
    port: 0,
    sample: { tasks: 0, fleetTasks: 0 },
    agents: { count: 0, concurrency: 1 },
    lambda: { pollers: 1, timeoutSeconds: 30, concurrency: 8, threads: 1 },
    externalPools: [POOL],
  });
}, 150_000);

afterAll(async () => {
  if (agent && agent.exitCode === null && agent.signalCode === null) {
    const exited = new Promise((resolve) => agent!.once("exit", resolve));
    agent.kill("SIGKILL");
    await exited;
  }
  await grid?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("the packed packages, installed in another project", () => {
  it("are JavaScript with declarations, installed from the tarballs, on the machine's Node >= 20", async () => {
    const node = await run("node", ["--version"]);
    console.log(`the project's node: ${node.stdout.trim()}`);
    expect(Number(/^v(\d+)\./.exec(node.stdout)?.[1])).toBeGreaterThanOrEqual(20);
    for (const name of ["core", "task", "agent", "client"]) {
      const dir = join(project, "node_modules/@tessera", name);
      // Copies from the tarballs, not links into this repository.
      expect(lstatSync(dir).isSymbolicLink()).toBe(false);
      const files = readdirSync(dir, { recursive: true }).map(String);
      expect(files).toContain(join("dist", "index.js"));
      expect(files).toContain(join("dist", "index.d.ts"));
      expect(files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);
    }
  });

  it("runs `npx tessera`: help, then a submit with --close and a wait", async () => {
    const help = await run("npx", ["tessera", "--help"]);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: tessera /);

    const lines = `${[1, 2, 3, 4, 5].map((n) => JSON.stringify({ n })).join("\n")}\n`;
    const submit = await run(
      "npx",
      ["tessera", ...connection(), "submit", "pack-cli", "-", "--handler", "echo", "--close", "--json"],
      { stdin: lines },
    );
    expect(submit.code, submit.stderr).toBe(0);
    expect(JSON.parse(submit.stdout)).toMatchObject({ sessionId: "pack-cli", submitted: 5, created: 5 });
    const wait = await run("npx", ["tessera", ...connection(), "wait", "pack-cli"]);
    expect(wait.code, wait.stderr).toBe(0);
    expect(wait.stdout).toContain("pack-cli: 5 tasks: 5 succeeded, 0 failed");
  });

  it("serves `tessera dashboard` from the installed package: the page, and the API with the CLI's token", async () => {
    // The bin itself rather than npx, which does not pass Ctrl-C on to it.
    const bin = join(project, "node_modules/.bin/tessera");
    const child = spawn(bin, [...connection(), "--json", "dashboard", "--port", "0", "--no-open"], {
      cwd: project,
      env: userEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise((resolve) => child.once("exit", resolve));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout.once("data", (d) => resolve(String(d)));
        child.once("exit", (code) => reject(new Error(`tessera dashboard exited (${code}): ${stderr}`)));
      });
      const { url } = JSON.parse(line) as { url: string };
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<div id="app">');
      const sessions = await fetch(`${url}api/sessions?limit=1`);
      expect(sessions.status).toBe(200);
      expect(await sessions.json()).toHaveProperty("sessions");
    } finally {
      child.kill("SIGINT");
      await exited;
    }
  });

  it("runs an SDK script that creates a session, submits tasks and streams their results", async () => {
    const sdk = await run("node", ["sdk.mjs", "pack-sdk", "default", "echo"], {
      env: { TESSERA_URL: grid.apiUrl, TESSERA_TOKEN: grid.token },
    });
    expect(sdk.code, sdk.stderr).toBe(0);
    expect(JSON.parse(sdk.stdout)).toEqual(Array.from({ length: 20 }, (_, x) => ({ x })));
  });

  it("runs the installed `tessera-agent` with a task module that imports the installed @tessera/task", async () => {
    writeFileSync(
      join(project, "tasks.mjs"),
      [
        `import { defineTask } from "@tessera/task";`,
        `import { z } from "zod";`,
        `export const square = defineTask("square", z.object({ x: z.number() }), ({ x }) => x * x);`,
      ].join("\n"),
    );
    // As a user runs it: the grid's settings in the environment (grid.agentEnvFile), task code
    // in worker threads (the default), which load the packed task-thread module by its path.
    agent = spawn(
      join(project, "node_modules/.bin/tessera-agent"),
      ["--pools", POOL, "--concurrency", "2", "--tasks", "./tasks.mjs"],
      { cwd: project, env: { ...userEnv, ...grid.env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let agentOut = "";
    agent.stdout!.on("data", (d) => (agentOut += d));
    agent.stderr!.on("data", (d) => (agentOut += d));
    const stopped = new Promise<number | null>((resolve) => agent!.once("exit", resolve));

    // Only the agent serves this pool: if it exits, no result will come.
    const gone = new AbortController();
    const sdk = await Promise.race([
      run("node", ["sdk.mjs", "pack-agent", POOL, "square"], {
        env: { TESSERA_URL: grid.apiUrl, TESSERA_TOKEN: grid.token },
        signal: gone.signal,
      }),
      stopped.then((code) => Promise.reject(new Error(`tessera-agent exited (${code}): ${agentOut}`))),
    ]).finally(() => gone.abort());
    expect(sdk.code, `${sdk.stderr}\nagent: ${agentOut}`).toBe(0);
    expect(JSON.parse(sdk.stdout)).toEqual(Array.from({ length: 20 }, (_, x) => x * x));

    agent.kill("SIGTERM");
    expect(await stopped, agentOut).toBe(0);
    expect(agentOut).toContain('"message":"agent stopped"');
  });

  it("gives a TypeScript consumer the SDK's, the agent's and the task package's types", async () => {
    writeFileSync(
      join(project, "consumer.ts"),
      [
        `import { Agent } from "@tessera/agent";`,
        `import { type Session, Tessera, type TaskResult } from "@tessera/client";`,
        `import { defineTask } from "@tessera/task";`,
        `import { z } from "zod";`,
        `const tessera = new Tessera({ endpoint: "http://127.0.0.1:1", token: "t" });`,
        `const session: Session<{ x: number }, number> = tessera.session("s");`,
        `export async function first(): Promise<TaskResult<number> | undefined> {`,
        `  for await (const r of session.results()) return r;`,
        `}`,
        `export const square = defineTask("square", z.object({ x: z.number() }), ({ x }) => x * x);`,
        `export const stop = (agent: Agent): Promise<void> => agent.stop();`,
        // Were any of these types missing (any), these lines would not be errors.
        `// @ts-expect-error: the endpoint is a string`,
        `new Tessera({ endpoint: 8787, token: "t" });`,
        `// @ts-expect-error: x is a number`,
        `square.run({ x: "2" }, {} as never);`,
        `// @ts-expect-error: an agent has no such method`,
        `export const wrong = (agent: Agent) => agent.flyAway();`,
      ].join("\n"),
    );
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          module: "nodenext",
          target: "es2023",
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          // A consumer brings its own @types/node; this project borrows the repository's.
          typeRoots: [join(repo, "node_modules/@types")],
          types: ["node"],
        },
        files: ["consumer.ts"],
      }),
    );
    const tsc = await run(join(repo, "node_modules/.bin/tsc"), ["-p", "tsconfig.json"]);
    expect(tsc.code, tsc.stdout + tsc.stderr).toBe(0);
  });
}, 60_000);
