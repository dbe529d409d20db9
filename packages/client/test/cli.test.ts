/** The `tessera` CLI as a user runs it, against the local grid. */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalGrid, loadConfig, startLocalGrid } from "@tessera/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const CLI = new URL("../src/cli.ts", import.meta.url).pathname;
const repo = new URL("../../../", import.meta.url).pathname;
let grid: LocalGrid;
const noProfile = join(mkdtempSync(join(tmpdir(), "tessera-cli-")), "config.json");

beforeAll(async () => {
  grid = await startLocalGrid({
    ...loadConfig(repo, {}),
    dataDir: mkdtempSync(join(tmpdir(), "tessera-cli-grid-")),
    port: 0,
    sample: { tasks: 0, fleetTasks: 0 },
    agents: { count: 0, concurrency: 1 },
    lambda: { pollers: 1, timeoutSeconds: 30, concurrency: 16, threads: 2 },
  });
});
afterAll(() => grid?.stop());

function tessera(args: string[], options: { stdin?: string; env?: Record<string, string> } = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: {
        ...process.env,
        TESSERA_URL: grid.apiUrl,
        TESSERA_TOKEN: grid.token,
        TESSERA_CONFIG: noProfile,
        ...options.env,
      },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.stdin.end(options.stdin ?? "");
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("tessera CLI", () => {
  it("submits JSONL from stdin, waits, streams results and reports status", async () => {
    const lines = `${Array.from({ length: 30 }, (_, n) => JSON.stringify({ n })).join("\n")}\n`;
    const submit = await tessera(["submit", "cli-1", "-", "--handler", "echo", "--close", "--json"], {
      stdin: lines,
    });
    expect(submit.code, submit.stderr).toBe(0);
    expect(JSON.parse(submit.stdout)).toEqual({
      sessionId: "cli-1",
      submitted: 30,
      created: 30,
      existing: 0,
    });

    const wait = await tessera(["wait", "cli-1"]);
    expect(wait.code, wait.stderr).toBe(0);
    expect(wait.stdout).toContain("cli-1: 30 tasks: 30 succeeded, 0 failed");

    const results = await tessera(["results", "cli-1"]);
    const rows = results.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(30);
    expect(rows.find((r) => r.taskId === "7")).toEqual({
      taskId: "7",
      status: "SUCCEEDED",
      output: { n: 7 },
    });

    const status = await tessera(["status", "cli-1", "--json"]);
    expect(JSON.parse(status.stdout)).toMatchObject({
      state: "CLOSED",
      counts: { total: 30, succeeded: 30 },
    });
    const human = await tessera(["status", "cli-1"]);
    expect(human.stdout).toMatch(/^cost so far: \$[\d.e-]+ for [\d,]+ AWS requests, [\d.]+ Lambda GB-s/m);
    const cost = await tessera(["cost", "cli-1"]);
    expect(cost.code, cost.stderr).toBe(0);
    const table = cost.stdout.trim().split("\n");
    expect(table[1]).toMatch(/^service\s+item\s+quantity\s+cost$/);
    expect(table.some((l) => /^DynamoDB\s+\w+\s+[\d.,]+ requests\s+\$/.test(l))).toBe(true);
    expect(table.some((l) => /^Lambda\s+duration \(arm64\)\s+[\d.,]+ GB-seconds/.test(l))).toBe(true);
    expect(table.at(-1)).toMatch(/^prices: us-east-1, taken \d{4}-\d{2} /);
    const costJson = JSON.parse((await tessera(["cost", "cli-1", "--json"])).stdout);
    expect(costJson).toMatchObject({ currency: "USD", prices: { region: "us-east-1" } });
    expect(costJson.dollars).toBeGreaterThan(0);

    const again = await tessera(["submit", "cli-1", "-", "--handler", "echo"], { stdin: lines });
    expect(again.code).toBe(3); // closed: nothing is added
    expect(again.stderr.trim()).toBe("tessera: session cli-1 is CLOSED and accepts no tasks");
  });

  it("exits 1 from wait when tasks failed, and cancels sessions", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "tessera-cli-in-")), "tasks.jsonl");
    writeFileSync(file, "1\n2\n");
    await tessera([
      "submit",
      "cli-fail",
      file,
      "--handler",
      "no-such-task",
      "--max-attempts",
      "1",
      "--close",
    ]);
    const wait = await tessera(["wait", "cli-fail", "--json"]);
    expect(wait.code).toBe(1);
    expect(JSON.parse(wait.stdout).counts).toMatchObject({ total: 2, failed: 2 });
    await tessera(["submit", "cli-cancel", "-", "--handler", "echo"], { stdin: "1\n" });
    const cancel = await tessera(["cancel", "cli-cancel"]);
    expect(cancel.code).toBe(0);
    expect(cancel.stdout).toMatch(/^cli-cancel: cancelled/);
    const sessions = await tessera(["sessions", "--json", "--limit", "2"]);
    expect(
      sessions.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).sessionId),
    ).toEqual(["cli-cancel", "cli-fail"]);
  });

  it("saves a profile from a stack's outputs and uses it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tessera-profile-"));
    const config = join(dir, "nested", "config.json");
    const outputs = join(dir, "outputs.json");
    writeFileSync(outputs, JSON.stringify({ api: grid.apiUrl, region: "eu-west-1", auth: "jwt" }));
    const env = { TESSERA_CONFIG: config, TESSERA_URL: "", TESSERA_TOKEN: "" };
    const missingToken = await tessera(["profile", "prod", "--from-outputs", outputs], { env });
    expect(missingToken.code).toBe(2);
    expect(missingToken.stderr.trim()).toMatch(/authenticates with JWTs: pass --token/);
    const saved = await tessera(["--token", grid.token, "profile", "prod", "--from-outputs", outputs], {
      env,
    });
    expect(saved.code, saved.stderr).toBe(0);
    expect(JSON.parse(readFileSync(config, "utf8"))).toEqual({
      profiles: { prod: { endpoint: grid.apiUrl, token: grid.token } },
    });
    expect(statSync(config).mode & 0o777).toBe(0o600);
    const listed = await tessera(["--profile", "prod", "sessions"], { env });
    expect(listed.code, listed.stderr).toBe(0);
    // An IAM grid's profile signs for the stack's region; other profiles are kept.
    writeFileSync(
      outputs,
      JSON.stringify({
        api: "https://abc.execute-api.eu-west-1.amazonaws.com",
        region: "eu-west-1",
        auth: "iam",
      }),
    );
    expect((await tessera(["profile", "default", "--from-outputs", outputs], { env })).code).toBe(0);
    expect(JSON.parse(readFileSync(config, "utf8")).profiles).toEqual({
      prod: { endpoint: grid.apiUrl, token: grid.token },
      default: { endpoint: "https://abc.execute-api.eu-west-1.amazonaws.com", iamRegion: "eu-west-1" },
    });
    writeFileSync(outputs, JSON.stringify({ table: "t" }));
    const wrong = await tessera(["profile", "x", "--from-outputs", outputs], { env });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr.trim()).toMatch(/no "api" URL among the outputs/);
  });

  it.each([
    [["status"], 2, /^error: missing required argument 'session'$/],
    [["wait", "x", "--nope"], 2, /^error: unknown option '--nope'$/],
    [
      ["submit", "x", "/no/such/file.jsonl"],
      2,
      /^tessera: \/no\/such\/file\.jsonl: no such file \(or not readable\)$/,
    ],
    [["submit", "x", "-"], 2, /^tessera: stdin:2: not a JSON value$/, "1\n{oops\n"],
    [["status", "nope"], 3, /^tessera: session nope not found$/],
    [["status", "bad id"], 3, /^tessera: path\.sessionId: must be 1-64 characters/],
    [["status", "x"], 2, /^tessera: no grid: pass --endpoint/, undefined, { TESSERA_URL: "" }],
    [["status", "x"], 2, /^tessera: no credentials: pass --token/, undefined, { TESSERA_TOKEN: "" }],
    [["status", "x", "--profile", "prod"], 2, /^tessera: no profile file at .* \(for --profile prod\)$/],
  ] as const)(
    "%j → exit %i with one line",
    async (args, code, message, stdin?: string, env?: Record<string, string>) => {
      const run = await tessera([...args], { stdin, env: env ? { ...env } : undefined });
      expect(run.code).toBe(code);
      const lines = run.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
    },
  );
});
