/**
 * The dashboard in a real browser (Debian's chromium through playwright-core) on the local grid,
 * through its server: a running session's counts rise to done, a failed task opens from the
 * failures list with its error and logs, Cancel (confirmed) cancels, a phone-width page does not
 * scroll sideways, and a refused token or an unreachable grid is said with what to do.
 */
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DashboardServer } from "@tessera/client/dashboard-server";
import { startDashboardServer } from "@tessera/client/dashboard-server";
import type { LocalGrid } from "@tessera/local";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, buildDashboard, launchChromium, startDashboardFor, startTestGrid } from "./harness.ts";

let grid: LocalGrid;
let dash: DashboardServer;
let browser: Browser;
let assetsDir: string;
const closers: Array<() => Promise<unknown>> = [];
const gates: string[] = [];

beforeAll(async () => {
  [grid, assetsDir] = await Promise.all([startTestGrid(), buildDashboard()]);
  closers.push(() => grid.stop());
  closers.push(async () => rmSync(assetsDir, { recursive: true, force: true }));
  dash = await startDashboardFor(grid, { assetsDir });
  closers.push(() => dash.close());
  browser = await launchChromium();
  closers.push(() => browser.close());
}, 60_000);
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  for (const gate of gates) rmSync(gate, { force: true });
});

/** A closed file path that `gated` tasks wait for; `open` lets them finish. */
function gate(name: string) {
  const path = join(tmpdir(), `tessera-dash-gate-${process.pid}-${name}`);
  gates.push(path);
  return { path, open: () => writeFileSync(path, "") };
}

/** Creates `sessionId` with `n` gated tasks (those listed in `failing` fail), closed unless `open`. */
async function gatedSession(
  sessionId: string,
  n: number,
  gatePath: string,
  o: { failing?: number[]; open?: boolean; maxAttempts?: number } = {},
) {
  await api(grid, "POST", "/sessions", {
    sessionId,
    config: { maxAttempts: o.maxAttempts ?? 1, chunkMaxTasks: 1, backoffBaseMs: 100 },
  });
  await api(grid, "POST", `/sessions/${sessionId}/tasks`, {
    handler: "gated",
    tasks: Array.from({ length: n }, (_, index) => ({
      index,
      payload: JSON.stringify({ gate: gatePath, fail: o.failing?.includes(index) }),
    })),
  });
  if (!o.open) await api(grid, "POST", `/sessions/${sessionId}/close`);
}

async function newPage(width = 1280): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  closers.push(() => page.close());
  return page;
}

/** The number a count tile shows. */
async function tile(page: Page, state: string): Promise<number> {
  return Number((await page.locator(`[data-state=${state}]`).textContent())!.replace(/,/g, ""));
}

describe("dashboard in a browser", () => {
  it("lists a running session and shows its counts rising to done", async () => {
    const g = gate("rise");
    await gatedSession("dash-rise", 20, g.path);
    const page = await newPage();
    await page.goto(`${dash.url}#/sessions`);
    await page.getByRole("link", { name: "dash-rise" }).click();
    await expect.poll(() => page.locator("h1").textContent()).toBe("dash-rise");
    // Nothing can finish before the gate opens: the page shows the tasks waiting or running.
    await expect
      .poll(() => tile(page, "running").then(async (r) => r + (await tile(page, "queued"))))
      .toBe(20);
    expect(await tile(page, "succeeded")).toBe(0);
    g.open();
    const seen: number[] = [];
    await expect
      .poll(
        async () => {
          const n = await tile(page, "succeeded");
          seen.push(n);
          return n;
        },
        { timeout: 30_000 },
      )
      .toBe(20);
    expect(seen).toEqual([...seen].sort((a, b) => a - b)); // live updates only ever go up
    expect(await page.getByTestId("session-state").textContent()).toBe("CLOSED");
    expect(await page.locator(".summary").textContent()).toContain("settled");
  });

  it("opens a failed task from the failures list, with its error and its logs", async () => {
    const g = gate("fail");
    g.open();
    await gatedSession("dash-fail", 4, g.path, { failing: [2], maxAttempts: 2 });
    const page = await newPage();
    await page.goto(`${dash.url}#/sessions/dash-fail`);
    const failures = page.locator("table.failures");
    await expect
      .poll(() => failures.locator("td").first().textContent(), { timeout: 30_000 })
      .toBe("HANDLER_ERROR");
    expect(await failures.textContent()).toContain("strike out of range for task 2");
    await failures.getByRole("link", { name: "#2" }).click();
    await expect.poll(() => page.getByTestId("task-status").textContent()).toBe("FAILED");
    expect(await page.locator(".task-error").textContent()).toContain("strike out of range for task 2");
    // Both runs, each with its error: the retried one is kept too.
    const runs = page.locator("table.attempts tbody tr");
    expect(await runs.count()).toBe(2);
    for (const [i, run] of (await runs.all()).entries()) {
      expect(await run.locator("td").first().textContent()).toBe(String(i + 1));
      expect(await run.textContent()).toContain("strike out of range for task 2");
    }
    await expect
      .poll(() => page.locator("pre.logs").textContent(), { timeout: 15_000 })
      .toContain("the input is out of range");
  });

  it("cancels a running session with the button, after a confirmation", async () => {
    const g = gate("cancel"); // never opened: the tasks run until cancelled
    await gatedSession("dash-cancel", 6, g.path, { open: true });
    const page = await newPage();
    await page.goto(`${dash.url}#/sessions/dash-cancel`);
    await expect.poll(() => page.getByTestId("session-state").textContent()).toBe("OPEN");
    // From the keyboard: Enter opens the confirmation, Escape dismisses it, and nothing changed.
    const cancel = page.getByRole("button", { name: "Cancel", exact: true });
    await cancel.focus();
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog");
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain("Cancel dash-cancel?");
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    await cancel.click();
    await dialog.getByRole("button", { name: "Keep it" }).click();
    await dialog.waitFor({ state: "hidden" });
    expect(await page.getByTestId("session-state").textContent()).toBe("OPEN");
    expect((await api<{ state: string }>(grid, "GET", "/sessions/dash-cancel")).state).toBe("OPEN");
    await page.getByRole("button", { name: "Cancel", exact: true }).click();
    await page.getByRole("button", { name: "Cancel the session" }).click();
    await expect
      .poll(() => page.getByTestId("session-state").textContent(), { timeout: 15_000 })
      .toBe("CANCELLED");
    const session = await api<{ state: string }>(grid, "GET", "/sessions/dash-cancel");
    expect(session.state).toBe("CANCELLED");
  });

  it("filters the sessions by state and by tag, in the address too", async () => {
    await api(grid, "POST", "/sessions", { sessionId: "dash-filter-open", tags: { desk: "rates" } });
    await api(grid, "POST", "/sessions", { sessionId: "dash-filter-closed", tags: { desk: "fx" } });
    await api(grid, "POST", "/sessions/dash-filter-closed/close");
    const page = await newPage();
    await page.goto(`${dash.url}#/sessions`);
    // Which of this test's sessions the list shows (the page shows "Loading…" between filters).
    const shown = async () =>
      (await page.locator("table.sessions tbody tr a").allTextContents()).filter((t) =>
        t.startsWith("dash-filter-"),
      );
    await expect.poll(shown).toEqual(["dash-filter-closed", "dash-filter-open"]);
    await page.getByLabel("State").selectOption("OPEN");
    await expect.poll(() => page.evaluate("location.hash")).toBe("#/sessions?state=OPEN");
    await expect.poll(shown).toEqual(["dash-filter-open"]);
    await page.getByLabel("State").selectOption("");
    await expect.poll(() => page.evaluate("location.hash")).toBe("#/sessions");
    await expect.poll(shown).toEqual(["dash-filter-closed", "dash-filter-open"]);
    // A live refresh of the list (an open session is listed) leaves what is typed alone.
    await page.getByLabel("Tag").fill("desk:fx");
    await page.waitForResponse((r) => r.url().includes("include=summary"), { timeout: 15_000 });
    await page.waitForTimeout(100); // its render
    expect(await page.getByLabel("Tag").inputValue()).toBe("desk:fx");
    await page.getByLabel("Tag").press("Enter");
    await expect.poll(() => page.evaluate("location.hash")).toBe("#/sessions?tag=desk%3Afx");
    await expect
      .poll(() => page.locator("table.sessions tbody tr a").allTextContents())
      .toEqual(["dash-filter-closed"]);
    // A filter nothing matches says so.
    await page.getByLabel("State").selectOption("CANCELLED");
    await page.getByText("No sessions match these filters.").waitFor();
  });

  it("closes an open session with the button, after a confirmation", async () => {
    await api(grid, "POST", "/sessions", { sessionId: "dash-close" });
    const page = await newPage();
    await page.goto(`${dash.url}#/sessions/dash-close`);
    await expect.poll(() => page.getByTestId("session-state").textContent()).toBe("OPEN");
    await page.getByRole("button", { name: "Close", exact: true }).click();
    const dialog = page.getByRole("dialog");
    expect(await dialog.textContent()).toContain("Close dash-close?");
    await dialog.getByRole("button", { name: "Keep it" }).click();
    expect((await api<{ state: string }>(grid, "GET", "/sessions/dash-close")).state).toBe("OPEN");
    await page.getByRole("button", { name: "Close", exact: true }).click();
    await page.getByRole("button", { name: "Close the session" }).click();
    await expect.poll(() => page.getByTestId("session-state").textContent()).toBe("CLOSED");
    expect((await api<{ state: string }>(grid, "GET", "/sessions/dash-close")).state).toBe("CLOSED");
    // Nothing left to close: the button is off.
    expect(await page.getByRole("button", { name: "Close", exact: true }).isDisabled()).toBe(true);
  });

  it("shows the agent pool's launches, busy agents and agent time on the fleet page", async () => {
    const g = gate("fleet");
    await api(grid, "POST", "/sessions", {
      sessionId: "dash-fleet",
      config: { pool: "batch", maxAttempts: 1 },
    });
    await api(grid, "POST", "/sessions/dash-fleet/tasks", {
      handler: "gated",
      tasks: [0, 1].map((index) => ({ index, payload: JSON.stringify({ gate: g.path }) })),
    });
    const page = await newPage();
    await page.goto(`${dash.url}#/fleet`);
    const pool = page.locator("article.pool").filter({ has: page.getByRole("heading", { name: "batch" }) });
    await pool.waitFor();
    // The scaler starts an agent for the waiting tasks; the page follows it to busy.
    const busy = pool.locator("li", { hasText: "busy" }).locator(".n");
    await expect.poll(() => busy.textContent(), { timeout: 45_000 }).toBe("1");
    expect(await pool.locator("ul.events").first().textContent()).toMatch(/ago: 1 agent\(s\)/);
    // Its process time is counted, and said to be unpriced (a process, not an instance).
    const cost = pool.locator("table.cost");
    await expect
      .poll(() => cost.locator("tbody").textContent(), { timeout: 15_000 })
      .toContain("local process: not priced");
    expect(await cost.locator("tbody td").first().textContent()).toBe("local");
    g.open();
    await expect
      .poll(
        async () =>
          (await api<{ counts: { succeeded: number } }>(grid, "GET", "/sessions/dash-fleet")).counts
            .succeeded,
        {
          timeout: 30_000,
        },
      )
      .toBe(2);
  });

  it("fits a 390 px screen, long session ids included", async () => {
    const long = `risk-${"x".repeat(59)}`; // 64 characters, the longest id
    const g = gate("long");
    g.open();
    await gatedSession(long, 2, g.path);
    const page = await newPage(390);
    for (const hash of ["#/sessions", `#/sessions/${long}`, `#/sessions/${long}/tasks/0`, "#/fleet"]) {
      await page.goto(`${dash.url}${hash}`);
      await page.locator("main h1").waitFor();
      await page.waitForLoadState("networkidle");
      const width = await page.evaluate("document.documentElement.scrollWidth");
      expect([hash, width]).toEqual([hash, 390]);
    }
  });

  it("says when the token is refused, with the fix, and when the grid is unreachable", async () => {
    const wrong = await startDashboardFor(grid, { assetsDir, token: "not-the-token" });
    closers.push(() => wrong.close());
    const page = await newPage();
    await page.goto(`${wrong.url}#/sessions`);
    const problem = page.locator(".problem.credentials");
    await problem.waitFor();
    expect(await problem.textContent()).toContain("The grid refused the dashboard's credentials");
    expect(await problem.locator("code.fix").textContent()).toBe(
      "pass the grid's token with --token, then run `tessera dashboard` again",
    );

    const dead = await startDashboardServer({
      endpoint: "http://127.0.0.1:1",
      token: "t",
      credentialHint: "-",
      port: 0,
      assetsDir,
    });
    closers.push(() => dead.close());
    await page.goto(`${dead.url}#/sessions`);
    const unreachable = page.locator(".problem.unreachable");
    await unreachable.waitFor();
    expect(await unreachable.textContent()).toMatch(/Grid unreachable\..*Retrying/);
  });
});
