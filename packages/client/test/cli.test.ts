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

/** A running `tessera`: its output so far, a wait for a line of its stderr, and its exit. */
function start(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: {
      ...process.env,
      TESSERA_URL: grid.apiUrl,
      TESSERA_TOKEN: grid.token,
      TESSERA_CONFIG: noProfile,
      ...env,
    },
  });
  const run = { child, stdout: "", stderr: "" };
  child.stdout.on("data", (d) => (run.stdout += d));
  child.stderr.on("data", (d) => (run.stderr += d));
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (code) => resolve({ code, stdout: run.stdout, stderr: run.stderr })),
  );
  const stderrMatches = (pattern: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!pattern.test(run.stderr)) return;
        child.stderr.off("data", check);
        resolve();
      };
      child.stderr.on("data", check);
      child.on("close", () => reject(new Error(`exited without ${pattern} on stderr: ${run.stderr}`)));
      check();
    });
  return { run, child, exited, stderrMatches };
}

function tessera(args: string[], options: { stdin?: string; env?: Record<string, string> } = {}) {
  const { child, exited } = start(args, options.env);
  child.stdin.end(options.stdin ?? "");
  return exited;
}

/** Polls `tessera status --json` until `ready` holds. */
async function statusUntil(sessionId: string, ready: (status: { counts: { total: number } }) => boolean) {
  for (;;) {
    const status = await tessera(["status", sessionId, "--json"]);
    if (status.code === 0 && ready(JSON.parse(status.stdout))) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
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
      nextIndex: 30,
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
      index: 7,
      status: "SUCCEEDED",
      attempt: 1,
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

  it("exits 1 from wait when tasks failed, saying why by error code, and cancels sessions", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "tessera-cli-in-")), "tasks.jsonl");
    // Tasks 0-1 succeed; tasks 2-6 fail (`sleep` takes { ms }) on their one attempt.
    writeFileSync(file, '{"ms":0}\n{"ms":0}\n1\n2\n3\n4\n5\n');
    await tessera(["submit", "cli-fail", file, "--handler", "sleep", "--max-attempts", "1", "--close"]);
    const wait = await tessera(["wait", "cli-fail", "--json"]);
    expect(wait.code).toBe(1);
    const report = JSON.parse(wait.stdout);
    expect(report.counts).toMatchObject({ total: 7, succeeded: 2, failed: 5 });
    expect(report.failures).toMatchObject({ failed: 5, cancelled: 0 });
    expect(report.failures.byCode).toHaveLength(1);
    const [group] = report.failures.byCode;
    expect(group.count).toBe(5);
    expect(group.examples).toHaveLength(3);
    for (const e of group.examples) {
      expect(e).toMatchObject({ status: "FAILED", attempt: 1, taskId: String(e.index) });
      expect(e.index).toBeGreaterThanOrEqual(2);
      expect(e.message).toMatch(/^input: .*expected object/);
    }
    const human = await tessera(["wait", "cli-fail"]);
    expect(human.code).toBe(1);
    const lines = human.stdout.trim().split("\n");
    expect(lines[0]).toBe("cli-fail: 7 tasks: 2 succeeded, 5 failed, 0 cancelled, 0 running, 0 queued");
    expect(lines[1]).toBe("failed or cancelled tasks by error code:");
    expect(lines[2]).toBe(`  ${group.code}: 5 tasks`);
    expect(lines.slice(3, 6).every((l) => /^ {4}task [2-6] \(FAILED, attempt 1\): input: /.test(l))).toBe(
      true,
    );
    expect(lines[6]).toBe("    … and 2 more");
    expect(lines[8]).toBe(`what a task logged: tessera logs cli-fail --task ${group.examples[0].index}`);
    // Every results line has the same head, failed or not; a failed one says where its logs are.
    const results = (await tessera(["results", "cli-fail"])).stdout.trim().split("\n");
    expect(results).toHaveLength(7);
    for (const row of results.map((l) => JSON.parse(l))) {
      expect(Object.keys(row).slice(0, 4)).toEqual(["taskId", "index", "status", "attempt"]);
      if (row.status === "FAILED") expect(row.logs).toBe(`tessera logs cli-fail --task ${row.index}`);
      else expect(row.logs).toBeUndefined();
    }

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

  it("tells a waiter once that an open session has nothing to run, and `close` lets the wait end", async () => {
    const submit = await tessera(["submit", "cli-open", "-", "--handler", "echo"], { stdin: "1\n2\n" });
    expect(submit.code, submit.stderr).toBe(0);
    const waiting = start(["wait", "cli-open"]); // no terminal: the notice still comes
    await waiting.stderrMatches(/still OPEN/);
    expect(waiting.run.stderr.trim()).toBe(
      "tessera: cli-open is still OPEN with nothing queued or running (2 of 2 finished); wait ends once it is closed. If no more tasks are coming: tessera close cli-open",
    );
    const close = await tessera(["close", "cli-open"]);
    expect(close.code, close.stderr).toBe(0);
    expect(close.stdout.trim()).toBe("cli-open: CLOSED with 2 tasks (0 still queued or running)");
    const waited = await waiting.exited;
    expect(waited.code).toBe(0);
    expect(waited.stdout.trim()).toBe(
      "cli-open: 2 tasks: 2 succeeded, 0 failed, 0 cancelled, 0 running, 0 queued",
    );
    expect(waited.stderr.match(/still OPEN/g)).toHaveLength(1);
    const again = await tessera(["close", "cli-open", "--json"]);
    expect(JSON.parse(again.stdout)).toMatchObject({ sessionId: "cli-open", state: "CLOSED" });
  });

  it("says what an interrupted submit stored and how to resume it; the resume submits the rest", async () => {
    const input = Array.from({ length: 50 }, (_, n) => JSON.stringify({ n })).join("\n");
    const args = ["submit", "cli-int", "-", "--handler", "echo", "--batch-size", "10", "--close"];
    const submitting = start(args);
    // Four batches go out as the fifth fills; stdin stays open, as a slow producer's would.
    submitting.child.stdin.write(`${input}\n`);
    await statusUntil("cli-int", (s) => s.counts.total === 40);
    // The grid stores a batch before it answers: give the last answer a moment to arrive.
    await new Promise((resolve) => setTimeout(resolve, 500));
    submitting.child.kill("SIGINT");
    const interrupted = await submitting.exited;
    expect(interrupted.code).toBe(130);
    expect(interrupted.stderr.trim().split("\n")).toEqual([
      "tessera: submit interrupted: tasks 0..39 are stored (the API accepted them); session cli-int is still OPEN.",
      "  resume (feed it the same input): tessera submit cli-int - --handler echo --batch-size 10 --close --resume-from 40",
      "  or close it with what it has: tessera close cli-int",
    ]);
    const status = JSON.parse((await tessera(["status", "cli-int", "--json"])).stdout);
    expect(status).toMatchObject({ state: "OPEN", counts: { total: 40 } });
    const resumed = await tessera([...args, "--resume-from", "40", "--json"], { stdin: input });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({
      submitted: 10,
      created: 10,
      existing: 0,
      nextIndex: 50,
    });
    const rows = (await tessera(["results", "cli-int"])).stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(rows.map((r) => r.output.n - r.index)).toEqual(Array(50).fill(0));
  });

  it("--chunk-size sets a new session's tasks per chunk", async () => {
    const submit = await tessera(["submit", "cli-chunks", "-", "--handler", "echo", "--chunk-size", "1"], {
      stdin: "1\n2\n3\n",
    });
    expect(submit.code, submit.stderr).toBe(0);
    const status = JSON.parse((await tessera(["status", "cli-chunks", "--json"])).stdout);
    expect(status.config.chunkMaxTasks).toBe(1);
    // The session exists: another chunk size is refused in one line, not silently ignored.
    const again = await tessera(["submit", "cli-chunks", "-", "--handler", "echo", "--chunk-size", "4"], {
      stdin: "4\n",
    });
    expect(again.code).toBe(3);
    expect(again.stderr.trim().split("\n")).toEqual([
      "tessera: config.chunkMaxTasks: session cli-chunks already exists with chunkMaxTasks 1, not 4; a session's settings cannot change (use another session id)",
    ]);
    expect(JSON.parse((await tessera(["status", "cli-chunks", "--json"])).stdout).counts.total).toBe(3);
  });

  it("sizes the sessions table's columns to the longest id", async () => {
    const long = `cli-${"l".repeat(60)}`;
    expect((await tessera(["submit", long, "-"])).code).toBe(0);
    const listed = await tessera(["sessions", "--limit", "3"]);
    const lines = listed.stdout.trim().split("\n");
    expect(lines[0]!.startsWith(`${long}  OPEN`)).toBe(true);
    // Each line's state starts in the same column, after the widest id and two spaces.
    for (const line of lines)
      expect(line.slice(long.length + 2)).toMatch(/^(OPEN|CLOSED|CANCELLED)\s+\d{4}-/);
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
    [
      ["submit", "x", "--chunk-size", "501"],
      2,
      /^error: option '--chunk-size <n>' argument '501' is invalid\. must be 1 to 500$/,
    ],
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
