/**
 * `npm start` as a user meets it: the banner's fleet demo, run as printed, grows the fleet past
 * one agent, the banner names the command that starts an agent on an external pool, and its
 * dashboard address serves the dashboard.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";

const repo = new URL("../../../", import.meta.url).pathname;
const main = new URL("../src/main.ts", import.meta.url).pathname;
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const child of children) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  }
});

/** Resolves with the first line of `lines` that matches, or rejects after `ms`. */
function waitFor(lines: string[], pattern: RegExp, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const end = Date.now() + ms;
    const poll = setInterval(() => {
      const line = lines.find((l) => pattern.test(l));
      if (line !== undefined || Date.now() > end) {
        clearInterval(poll);
        if (line !== undefined) resolve(line);
        else reject(new Error(`no line matched ${pattern}:\n${lines.join("\n")}`));
      }
    }, 100);
  });
}

describe("npm start's banner", () => {
  it("prints a fleet demo that grows the fleet, and the command for an external agent", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tessera-banner-"));
    const configFile = join(dir, "tessera.local.json");
    writeFileSync(
      configFile,
      JSON.stringify({
        externalPools: ["priced"],
        agents: { count: 0 },
        lambda: { pollers: 1, threads: 1 },
        fleet: { maxAgents: 2, concurrency: 2, idleSeconds: 2, everySeconds: 1 },
      }),
    );
    const child = spawn(process.execPath, [main], {
      cwd: repo,
      env: {
        ...process.env,
        TESSERA_LOCAL_CONFIG: configFile,
        TESSERA_LOCAL_DATA_DIR: join(dir, "data"),
        TESSERA_LOCAL_PORT: "0",
        TESSERA_LOCAL_SAMPLE_TASKS: "0",
        TESSERA_LOCAL_FLEET_SAMPLE_TASKS: "0",
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(child);
    const lines: string[] = [];
    createInterface({ input: child.stdout! }).on("line", (l) => lines.push(l));
    await waitFor(lines, /^The grid serves until Ctrl-C/, 90_000);

    // The dashboard is served, with the grid's token on the server's side.
    const dashboard = /^ {2}dashboard (http:\/\/127\.0\.0\.1:\d+\/)$/.exec(
      lines.find((l) => l.startsWith("  dashboard ")) ?? "",
    );
    expect(dashboard, lines.join("\n")).not.toBeNull();
    expect(await (await fetch(dashboard![1]!)).text()).toContain('<div id="app">');
    expect((await fetch(`${dashboard![1]}api/sessions`)).status).toBe(200);

    const external = lines.findIndex((l) => l.startsWith("  external  "));
    expect(lines[external]).toContain('pools "priced" are served by agents you start');
    expect(lines[external + 1]!.trim()).toBe(
      `set -a; . ${join(dir, "data", "agent.env")}; set +a; npx tessera-agent --pools priced --command python3 --arg examples/pricer.py`,
    );

    // The fleet demo, as printed (the export line, then the commands under its comment).
    const exportLine = lines.find((l) => l.trim().startsWith("export TESSERA_URL="))!.trim();
    const start = lines.findIndex((l) => l.includes("# on the agent fleet"));
    const demo: string[] = [];
    for (const l of lines.slice(start + 1)) {
      if (l.trim().startsWith("#")) break;
      demo.push(l);
    }
    const run = spawnSync("sh", ["-ec", [exportLine, ...demo].join("\n")], {
      cwd: repo,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(0);
    // One ticket per task: the scaler sees 40 waiting and starts agents up to its maximum (2),
    // rather than one agent for one chunk of 40.
    await waitFor(lines, /fleet batch: .*, 2 agent\(s\)/, 60_000);
    const launched = lines
      .map((l) => /fleet batch: .*launched (\d+)/.exec(l)?.[1])
      .reduce((n, x) => n + Number(x ?? 0), 0);
    expect(launched).toBeGreaterThanOrEqual(2);
  }, 180_000);
});
