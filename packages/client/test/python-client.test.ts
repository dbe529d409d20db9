/**
 * The Python client (packages/python) against the local grid: its unittest suite runs with the
 * grid's URL and token, so its integration tests (10,000 tasks streamed and resumed, cancel,
 * wait, large payloads and results, errors naming the field) run in `npm test`, not only its
 * pure ones. Needs python3 (3.9 or later) on the PATH.
 */
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LocalGrid, loadConfig, startLocalGrid } from "@tessera/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Tessera } from "../src/tessera.ts";

const repo = new URL("../../../", import.meta.url).pathname;
let grid: LocalGrid;

beforeAll(async () => {
  grid = await startLocalGrid({
    ...loadConfig(repo, {}),
    dataDir: mkdtempSync(join(tmpdir(), "tessera-python-")),
    port: 0,
    sample: { tasks: 0, fleetTasks: 0 },
    agents: { count: 0, concurrency: 1 },
    lambda: { pollers: 1, timeoutSeconds: 30, concurrency: 16, threads: 2 },
  });
});
afterAll(() => grid?.stop());

/** Runs python3 without blocking this process's event loop: the grid serves from it. */
function python(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn("python3", args, { cwd: repo, env: { ...process.env, ...env } });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("error", (error) =>
      reject(new Error(`cannot run python3 (${error.message}): the Python client needs it`)),
    );
    child.on("close", (code) => resolve({ code, output }));
  });
}

/** Resumes a session's results in Python from a token; prints one index a line. */
const RESUME_IN_PYTHON = `
import os, sys
sys.path.insert(0, "packages/python/src")
from tessera import Tessera
session = Tessera(os.environ["URL"], os.environ["TOKEN"]).session(sys.argv[1])
for r in session.results(resume_from=sys.argv[2], min_poll=0.05):
    print(r.index)
`;

describe("Python client", () => {
  it("passes its unittest suite, the integration tests against the local grid included", async () => {
    const { code, output } = await python(
      ["-m", "unittest", "discover", "-s", "packages/python/tests", "-v"],
      {
        TESSERA_TEST_URL: grid.apiUrl,
        TESSERA_TEST_TOKEN: grid.token,
        // No __pycache__ left in the repository.
        PYTHONDONTWRITEBYTECODE: "1",
      },
    );
    expect(code, output).toBe(0);
    expect(output).toMatch(/^Ran \d+ tests? in /m);
    // The grid tests ran: each reported ok, none skipped (the suite skips them without a grid).
    const gridLines = output.split("\n").filter((line) => line.includes("(test_grid."));
    expect(gridLines.length, output).toBeGreaterThanOrEqual(5);
    for (const line of gridLines) expect(line).toMatch(/ \.\.\. ok$/);
  }, 240_000);

  it("resumes from a TypeScript stream's mid-page token with nothing lost or repeated", async () => {
    const tessera = new Tessera({ endpoint: grid.apiUrl, token: grid.token });
    // Chunks of 250 tasks: fewer writes for the local grid's slow DynamoDB Local.
    const session = await tessera.createSession({
      sessionId: "ts-to-python",
      config: { chunkMaxTasks: 250 },
    });
    await session.submit(
      Array.from({ length: 2_000 }, (_, n) => ({ n })),
      { handler: "echo", close: true },
    );
    await session.wait({ minPollMs: 50 });
    const stream = session.results({ pageSize: 1_000 });
    const first: number[] = [];
    for await (const r of stream) {
      first.push(r.index);
      if (first.length === 1_500) break;
    }
    // Pages hold 1,000 results or a little more (a commit is never split): 1,500 is mid-page.
    const token = stream.cursor!;
    expect(token).toMatch(/^tr1\./);
    const { code, output } = await python(["-c", RESUME_IN_PYTHON, session.id, token], {
      URL: grid.apiUrl,
      TOKEN: grid.token,
      PYTHONDONTWRITEBYTECODE: "1",
    });
    expect(code, output).toBe(0);
    const rest = output.trim().split("\n").map(Number);
    expect(first.length + rest.length).toBe(2_000);
    expect(new Set([...first, ...rest]).size).toBe(2_000);
  }, 120_000);
});
