/** The agent as a real process: `tessera-agent` started as operators start it, and signalled. */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, rmSync } from "node:fs";
import { cancelTask, createSession, getTask, reap, submitTasks } from "@tessera/core";
import { type AwsTestGrid, provisionTestGrid } from "@tessera/core/testing/aws";
import { afterEach, describe, expect, inject, it } from "vitest";
import { napped } from "./fixtures/tasks.ts";

const CLI = new URL("../src/cli.ts", import.meta.url).pathname;
const TASKS = new URL("./fixtures/tasks.ts", import.meta.url).pathname;
const children: ChildProcess[] = [];
const grids: AwsTestGrid[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
  for (const g of grids.splice(0)) g.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function setup(sessionId: string, config: Record<string, unknown>, naps: number[], firstOnly = false) {
  const g = await provisionTestGrid(inject("emulators"));
  grids.push(g);
  const key = { tenant: "acme", sessionId };
  await createSession(g.ports, "acme", { sessionId, config: { chunkMaxTasks: 1, ...config } });
  await submitTasks(g.ports, key, {
    handler: "nap",
    tasks: naps.map((ms, index) => ({ index, payload: JSON.stringify({ ms, firstOnly }) })),
  });
  return { g, key };
}

function startAgent(g: AwsTestGrid, extra: string[] = []): ChildProcess & { output: () => string } {
  const anyUrl = Object.values(g.queueUrls)[0]!;
  const { dynamoEndpoint, queueEndpoint } = inject("emulators");
  const child = spawn(
    process.execPath,
    [CLI, "--tasks", TASKS, "--concurrency", "2", "--grace", "10", ...extra],
    {
      env: {
        ...process.env,
        TESSERA_PREFIX: g.grid.table.name.replace(/-tasks$/, ""),
        TESSERA_QUEUE_URL_BASE: anyUrl.slice(0, anyUrl.lastIndexOf("/")),
        TESSERA_DYNAMODB_ENDPOINT: dynamoEndpoint,
        TESSERA_QUEUE_ENDPOINT: queueEndpoint,
        TESSERA_LEASE_GRACE_MS: "0",
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let text = "";
  child.stdout?.on("data", (d) => (text += d));
  child.stderr?.on("data", (d) => (text += d));
  children.push(child);
  return Object.assign(child, { output: () => text });
}

async function until(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await sleep(100);
  }
}

describe("tessera-agent process", () => {
  it("drains on SIGTERM: the running task finishes and commits, then the agent exits 0", async () => {
    const { g, key } = await setup("term", {}, [1_500]);
    const agent = startAgent(g);
    await until(async () => (await getTask(g.ports, key, 0)).status === "LEASED");
    agent.kill("SIGTERM");
    const [code] = await once(agent, "exit");
    expect(code, agent.output()).toBe(0);
    expect(await getTask(g.ports, key, 0)).toMatchObject({ status: "SUCCEEDED", attempt: 1 });
    expect(agent.output()).toContain("SIGTERM: draining");
  });

  it("loses nothing when SIGKILLed: its task is finished by another agent", async () => {
    const { g, key } = await setup("kill", { leaseMs: 2_000 }, [60_000], true);
    const doomed = startAgent(g);
    // Killed once the task runs (the nap's marker is written as it starts).
    const marker = napped(g.grid.table.name.replace(/-tasks$/, ""), "kill", "0");
    await until(async () => existsSync(marker));
    doomed.kill("SIGKILL");
    await once(doomed, "exit");
    // The lease expires after 2 s; the reaper (here with no extra grace) re-drives it.
    await sleep(2_500);
    const report = await reap({ ...g.ports, timing: { ...g.ports.timing, leaseGraceMs: 0 } });
    expect(report.redriven).toBe(1);
    startAgent(g);
    await until(async () => (await getTask(g.ports, key, 0)).status === "SUCCEEDED");
    const view = await getTask(g.ports, key, 0);
    // The killed run was never committed: it cost no attempt, and the task ran again elsewhere.
    expect(view.attempt).toBe(1);
    expect(JSON.parse(view.result!).pid).not.toBe(doomed.pid);
    rmSync(marker, { force: true });
  });

  it("says what is wrong in one line and exits 2 on bad flags", async () => {
    const g = await provisionTestGrid(inject("emulators"));
    grids.push(g);
    const agent = startAgent(g, ["--command", "cat"]); // both --tasks and --command
    const [code] = await once(agent, "exit");
    expect(code).toBe(2);
    expect(agent.output().trim()).toBe(
      'tessera-agent: give one of --tasks <modules...>, --command <program> or --worker "<command>"',
    );
  });

  it("stops a task that spins the CPU at its timeout and another at its cancel, and keeps working", async () => {
    const { g, key } = await setup("spin", { maxAttempts: 1 }, [200, 200]);
    await submitTasks(g.ports, key, { handler: "spin", timeoutMs: 1_500, tasks: [{ index: 2 }] });
    await submitTasks(g.ports, key, { handler: "spin", tasks: [{ index: 3 }] });
    const agent = startAgent(g, ["--concurrency", "3"]);
    await until(async () => (await getTask(g.ports, key, 3)).status === "LEASED");
    await cancelTask(g.ports, key, 3);
    await until(async () => (await getTask(g.ports, key, 3)).status === "CANCELLED");
    await until(async () => (await getTask(g.ports, key, 2)).status === "FAILED");
    expect(await getTask(g.ports, key, 2)).toMatchObject({ error: { code: "TIMEOUT" } });
    for (const i of [0, 1]) expect((await getTask(g.ports, key, i)).status, agent.output()).toBe("SUCCEEDED");
    agent.kill("SIGTERM");
    const [code] = await once(agent, "exit");
    expect(code, agent.output()).toBe(0);
  });
});
