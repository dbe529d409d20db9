/** The agent process prints each line its tasks log on stdout (its journal on EC2). */
import { type ChildProcess, spawn } from "node:child_process";
import { createSession, getTask, submitTasks } from "@tessera/core";
import { type AwsTestGrid, provisionTestGrid } from "@tessera/core/testing/aws";
import { afterEach, describe, expect, inject, it } from "vitest";

const CLI = new URL("../src/cli.ts", import.meta.url).pathname;
const TASKS = new URL("./fixtures/logging-tasks.ts", import.meta.url).pathname;
const children: ChildProcess[] = [];
const grids: AwsTestGrid[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
  for (const g of grids.splice(0)) g.close();
});

/** An agent on a fresh grid that ran task 0 of session "logs"; resolves with its stdout. */
async function agentOutput(extra: string[]): Promise<string> {
  const g = await provisionTestGrid(inject("emulators"));
  grids.push(g);
  const key = { tenant: "acme", sessionId: "logs" };
  await createSession(g.ports, "acme", { sessionId: "logs" });
  await submitTasks(g.ports, key, { handler: "square", tasks: [{ index: 0, payload: '{"x":3}' }] });
  const anyUrl = Object.values(g.queueUrls)[0]!;
  const { dynamoEndpoint, queueEndpoint } = inject("emulators");
  const child = spawn(process.execPath, [CLI, "--tasks", TASKS, "--concurrency", "1", ...extra], {
    env: {
      ...process.env,
      TESSERA_PREFIX: g.grid.table.name.replace(/-tasks$/, ""),
      TESSERA_QUEUE_URL_BASE: anyUrl.slice(0, anyUrl.lastIndexOf("/")),
      TESSERA_DYNAMODB_ENDPOINT: dynamoEndpoint,
      TESSERA_QUEUE_ENDPOINT: queueEndpoint,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let stdout = "";
  child.stdout?.on("data", (d) => (stdout += d));
  for (const end = Date.now() + 30_000; (await getTask(g.ports, key, 0)).status !== "SUCCEEDED"; ) {
    if (Date.now() > end) throw new Error(`task not run: ${stdout}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const end = Date.now() + 5_000; !stdout.includes("squaring") && Date.now() < end; )
    await new Promise((r) => setTimeout(r, 50));
  child.kill("SIGTERM");
  return stdout;
}

describe("tessera-agent task logs", () => {
  it("writes a JSON line per task log line, with the task's ids", async () => {
    const lines = (await agentOutput([])).split("\n").filter((l) => l.includes('"session"'));
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({
        level: "info",
        message: "squaring",
        x: 3,
        tenant: "acme",
        session: "logs",
        index: 0,
        attempt: 1,
        handler: "square",
      }),
    ]);
  }, 60_000);

  it("writes readable lines with --log-format text, debug ones with --log-level debug", async () => {
    const out = await agentOutput(["--log-format", "text", "--log-level", "debug"]);
    expect(out).toMatch(/^\d\d:\d\d:\d\d debug logs #0 a1 square {2}details$/m);
    expect(out).toMatch(/^\d\d:\d\d:\d\d info {2}logs #0 a1 square {2}squaring x=3$/m);
  }, 60_000);
});
