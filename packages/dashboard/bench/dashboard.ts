/**
 * `npm run bench:dashboard`: builds the dashboard, reports its gzipped JavaScript (budget
 * 150 KB), then on the local grid creates 1,000 sessions and times the first render of the
 * sessions list in chromium (budget 1 s): from navigation start to the first rows on screen, and
 * on to their summaries (progress, counts, cost). `--sessions N` for another count. Prints one
 * JSON object as its last line.
 *
 * `npm run screenshots` (`--screenshots DIR`) instead saves a PNG of each page at 1280 px, and
 * of the sessions list and a session at 390 px, from a small live scene (sessions running, with
 * failures, cancelled, and work for the agent fleet).
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import type { LocalGrid } from "@tessera/local";
import type { Browser } from "playwright-core";
import { api, buildDashboard, launchChromium, startDashboardFor, startTestGrid } from "../test/harness.ts";

const root = new URL("..", import.meta.url).pathname;
const { values: args } = parseArgs({
  options: { screenshots: { type: "string" }, sessions: { type: "string" } },
});

/** Builds dist/ and sums its JavaScript and CSS, gzipped as a server would send them. */
async function buildAndMeasure(): Promise<{ jsGzipBytes: number; cssGzipBytes: number }> {
  const assets = join(await buildDashboard(join(root, "dist")), "assets");
  let jsGzipBytes = 0;
  let cssGzipBytes = 0;
  for (const name of readdirSync(assets)) {
    const size = gzipSync(readFileSync(join(assets, name)), { level: 9 }).length;
    if (name.endsWith(".js")) jsGzipBytes += size;
    else if (name.endsWith(".css")) cssGzipBytes += size;
  }
  return { jsGzipBytes, cssGzipBytes };
}

/** Runs `work` over `items` with `concurrency` at a time. */
async function inParallel<T>(
  items: T[],
  concurrency: number,
  work: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** Creates `n` empty sessions, half of them tagged team:risk and half team:pricing. */
async function createSessions(grid: LocalGrid, n: number): Promise<void> {
  const ids = Array.from({ length: n }, (_, i) => `bench-${String(i).padStart(4, "0")}`);
  await inParallel(ids, 16, (sessionId) =>
    api(grid, "POST", "/sessions", {
      sessionId,
      tags: { team: Number(sessionId.slice(-1)) % 2 ? "risk" : "pricing" },
    }),
  );
}

/**
 * Records, in the page, when the sessions list first has rows and when those show their
 * summaries, so that the figures hold no delay of the test driver.
 */
const RECORD_RENDER = `
  new MutationObserver(() => {
    const row = document.querySelector("table.sessions tbody tr");
    if (row && window.firstRowsAt === undefined) window.firstRowsAt = performance.now();
    if (row?.querySelector(".progress") && window.summariesAt === undefined) window.summariesAt = performance.now();
  }).observe(document, { childList: true, subtree: true });
`;

/**
 * ms from navigation start until the sessions list shows its first rows, and until those rows
 * show their summaries (progress bars: the grid reads counts and cost for each).
 */
async function timeFirstRender(
  browser: Browser,
  url: string,
): Promise<{ firstRenderMs: number; summaryRenderMs: number; rowsShown: number }> {
  // A new page each time: going to the same URL again would not load the document again.
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.addInitScript(RECORD_RENDER);
  await page.goto(`${url}#/sessions`, { waitUntil: "commit" });
  const rows = page.locator("table.sessions tbody tr");
  await rows.first().locator(".progress").waitFor({ timeout: 60_000 });
  const [firstRenderMs, summaryRenderMs] = (await page.evaluate(
    "[window.firstRowsAt, window.summariesAt]",
  )) as number[];
  const rowsShown = await rows.count();
  await page.close();
  return {
    firstRenderMs: Math.round(firstRenderMs!),
    summaryRenderMs: Math.round(summaryRenderMs!),
    rowsShown,
  };
}

/** A scene worth a picture: sessions running, with failures, cancelled, and agents at work. */
async function stageScene(grid: LocalGrid, gateDir: string): Promise<void> {
  const openGate = join(gateDir, "open");
  writeFileSync(openGate, "");
  const submit = async (
    sessionId: string,
    n: number,
    gate: string,
    failing: (i: number) => boolean,
    tags = {},
  ) => {
    await api(grid, "POST", "/sessions", { sessionId, tags, config: { maxAttempts: 1, chunkMaxTasks: 4 } });
    await api(grid, "POST", `/sessions/${sessionId}/tasks`, {
      handler: "gated",
      tasks: Array.from({ length: n }, (_, index) => ({
        index,
        payload: JSON.stringify({ gate, fail: failing(index) }),
      })),
    });
  };
  await submit("pricing-eod-2026-11-30", 400, openGate, (i) => i % 37 === 5, { team: "pricing" });
  await api(grid, "POST", "/sessions/pricing-eod-2026-11-30/close");
  await submit("risk-var-nightly", 300, join(gateDir, "never"), () => false, { team: "risk" });
  await submit("scenario-sweep-cancelled", 50, join(gateDir, "never"), () => false);
  await api(grid, "POST", "/sessions/scenario-sweep-cancelled/cancel");
  // Work for the agent fleet (pool "batch"), one task per ticket: the scaler starts agents.
  await api(grid, "POST", "/sessions", {
    sessionId: "fleet-sweep",
    config: { pool: "batch", chunkMaxTasks: 1 },
  });
  await api(grid, "POST", "/sessions/fleet-sweep/tasks", {
    handler: "sleep",
    tasks: Array.from({ length: 40 }, (_, index) => ({ index, payload: JSON.stringify({ ms: 20_000 }) })),
  });
  await new Promise((r) => setTimeout(r, 6_000)); // let the first finish and the history fill
}

async function screenshots(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const grid = await startTestGrid();
  const dash = await startDashboardFor(grid);
  const browser = await launchChromium();
  try {
    const gateDir = await mkdtemp(join(tmpdir(), "tessera-dash-gates-"));
    await stageScene(grid, gateDir);
    const shots: Array<[string, string, number]> = [
      ["sessions.png", "#/sessions", 1280],
      ["session.png", "#/sessions/pricing-eod-2026-11-30", 1280],
      ["task.png", "#/sessions/pricing-eod-2026-11-30/tasks/5", 1280],
      ["fleet.png", "#/fleet", 1280],
      ["sessions-390.png", "#/sessions", 390],
      ["session-390.png", "#/sessions/risk-var-nightly", 390],
    ];
    for (const [file, hash, width] of shots) {
      const page = await browser.newPage({ viewport: { width, height: 900 }, colorScheme: "light" });
      await page.goto(`${dash.url}${hash}`);
      await page.locator("main h1").waitFor();
      await page.waitForTimeout(2_500); // the page's own loads and the chart
      await page.screenshot({ path: join(dir, file), fullPage: true });
      await page.close();
      console.log(`saved ${join(dir, file)}`);
    }
  } finally {
    await browser.close();
    await dash.close();
    await grid.stop();
  }
}

async function bench(): Promise<void> {
  const sizes = await buildAndMeasure();
  console.log(`built: ${(sizes.jsGzipBytes / 1024).toFixed(1)} KB of JavaScript gzipped (budget 150 KB)`);
  const n = Number(args.sessions ?? 1_000);
  const grid = await startTestGrid();
  const dash = await startDashboardFor(grid);
  const browser = await launchChromium();
  try {
    const t0 = Date.now();
    await createSessions(grid, n);
    console.log(`created ${n} sessions in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await timeFirstRender(browser, dash.url); // warm: the browser's own start and the grid's first queries
    const runs: Array<Awaited<ReturnType<typeof timeFirstRender>>> = [];
    for (let i = 0; i < 3; i++) runs.push(await timeFirstRender(browser, dash.url));
    const median = (k: "firstRenderMs" | "summaryRenderMs") => runs.map((r) => r[k]).sort((a, b) => a - b)[1];
    const result = {
      jsGzipBytes: sizes.jsGzipBytes,
      cssGzipBytes: sizes.cssGzipBytes,
      sessions: n,
      rowsShown: runs[0]!.rowsShown,
      firstRenderMs: median("firstRenderMs"),
      summaryRenderMs: median("summaryRenderMs"),
      // The machine's load while measured: on a shared machine the figures are worth what it was.
      loadAverage1m: Number(loadavg()[0]!.toFixed(1)),
    };
    console.log(JSON.stringify(result));
  } finally {
    await browser.close();
    await dash.close();
    await grid.stop();
  }
}

if (args.screenshots) await screenshots(resolve(args.screenshots));
else await bench();
process.exit(0);
