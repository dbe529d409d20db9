/**
 * Expiry of the task table's items on DynamoDB Local: every item the grid writes carries
 * `expiresAt` (the table's TTL attribute, epoch seconds), the retention after the grid's last
 * write of it; the reaper renews what an active session's tasks do not rewrite.
 */
import { GetCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { afterEach, describe, expect, inject, it } from "vitest";
import { Dispatcher, type TaskRunner } from "../../dispatch/dispatcher.ts";
import type { GridPorts } from "../../dispatch/grid-ports.ts";
import { getSessionProgress } from "../../dispatch/progress.ts";
import { reap } from "../../dispatch/reaper.ts";
import { ResultsReader } from "../../dispatch/results-reader.ts";
import { SessionUsage } from "../../dispatch/session-usage.ts";
import { cancelSession, closeSession, createSession } from "../../dispatch/sessions.ts";
import { submitTasks } from "../../dispatch/submitter.ts";
import { cancelTask, getTask } from "../../dispatch/tasks.ts";
import { runPollLoop } from "../../dispatch/worker-loop.ts";
import { attachCallMeter } from "../../metering/call-meter.ts";
import { Limits } from "../../model/limits.ts";
import type { TaskOutcome } from "../../model/records.ts";
import { type AwsTestGrid, provisionTestGrid } from "../../testing/aws-test-grid.ts";
import { FakeClock } from "../memory/clocks.ts";
import { DynamoTaskStore } from "./dynamo-task-store.ts";

const DAY_SECONDS = 24 * 60 * 60;
const QUEUE = "default-normal";

const grids: AwsTestGrid[] = [];
const loops: AbortController[] = [];
afterEach(() => {
  for (const l of loops.splice(0)) l.abort();
  for (const g of grids.splice(0)) g.close();
});

async function grid(options: Parameters<typeof provisionTestGrid>[1] = {}): Promise<AwsTestGrid> {
  const g = await provisionTestGrid(inject("emulators"), options);
  grids.push(g);
  return g;
}

/** Every item of the grid's table. */
async function scanTable(g: AwsTestGrid): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await g.clients.doc.send(
      new ScanCommand({ TableName: g.grid.table.name, ExclusiveStartKey: start, ConsistentRead: true }),
    );
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

/** The kind of a table item, by its key (engine/keys.ts). */
function kindOf(item: Record<string, unknown>): string {
  const pk = item.pk as string;
  const sk = item.sk as string;
  if (sk === "#SESSION") return "session";
  if (sk === "#GROUP") return "group lock";
  if (sk === "#COUNTS") return "counters";
  if (sk === "#USAGE") return "usage";
  if (pk.endsWith("#D")) return "directory";
  if (pk.endsWith("#H")) return "history";
  if (/#R#\d+$/.test(pk)) return "completion";
  if (/#F#\d+$/.test(pk)) return "failed runs";
  if (sk.startsWith("C#")) return "chunk";
  return `unknown ${pk} ${sk}`;
}

/** Items whose `expiresAt` is not a number within [from, to] (epoch seconds), with what they hold. */
function outside(items: Record<string, unknown>[], from: number, to: number): string[] {
  return items
    .filter((i) => typeof i.expiresAt !== "number" || i.expiresAt < from || i.expiresAt > to)
    .map((i) => `${kindOf(i)} ${i.pk as string} ${i.sk as string}: ${String(i.expiresAt)}`);
}

function startWorker(ports: GridPorts, runner: TaskRunner): void {
  const dispatcher = new Dispatcher(ports, { owner: "w", runner, concurrency: 16 });
  const stop = new AbortController();
  loops.push(stop);
  void runPollLoop(
    ports,
    dispatcher,
    { queues: [QUEUE], visibilitySeconds: 30, idleWaitSeconds: 1, heartbeatEveryMs: 200 },
    stop.signal,
  );
}

describe("expiry of the task table's items (DynamoDB Local)", () => {
  it("gives every item of a whole session life an expiresAt the retention after its last write", async () => {
    const g = await grid({ timing: { ticketGraceMs: 1_000, leaseGraceMs: 0 } });
    const ports = g.ports;
    const usage = new SessionUsage(ports.store);
    for (const c of [g.clients.dynamo, g.clients.sqs, g.clients.s3]) attachCallMeter(c, usage.recorder);
    const from = Math.floor(Date.now() / 1000) + 30 * DAY_SECONDS; // the default retention

    // Session A: several batches over two groups (a new group, then inserts into an existing
    // one), a large payload, a cancelled task, retries, failures, a large result.
    const a = { tenant: "acme", sessionId: "life" };
    await createSession(ports, a.tenant, {
      sessionId: a.sessionId,
      config: { chunkMaxTasks: 8, maxAttempts: 2, backoffBaseMs: 50, backoffMaxMs: 100 },
    });
    const small = (lo: number, hi: number) =>
      Array.from({ length: hi - lo }, (_, i) => ({ index: lo + i, payload: `p${lo + i}` }));
    const second = Limits.GROUP_SIZE;
    await submitTasks(ports, a, { tasks: small(0, 20) });
    await submitTasks(ports, a, { tasks: [...small(20, 40), ...small(second, second + 10)] });
    await submitTasks(ports, a, { tasks: [{ index: second + 10, payload: "x".repeat(100_000) }] });
    await ports.store.touchSession(a, ports.clock.now()); // as a submit a minute later does
    await cancelTask(ports, a, 39);
    const total = 40 + 11;

    // Session B: cancelled before anything ran (the cancel walk writes its chunks).
    const b = { tenant: "acme", sessionId: "cancelled" };
    await createSession(ports, b.tenant, { sessionId: b.sessionId });
    await submitTasks(ports, b, { tasks: small(0, 10) });
    await cancelSession(ports, b);

    const tries = new Map<number, number>();
    startWorker(ports, async (t) => {
      if (t.sessionId !== a.sessionId) return "b";
      tries.set(t.index, (tries.get(t.index) ?? 0) + 1);
      if (t.index % 7 === 1) throw new Error("always fails"); // FAILED after two attempts
      if (t.index % 5 === 2 && t.attempt === 1) throw new Error("fails once"); // retried
      if (t.index === 3) return "r".repeat(Limits.LARGE_RESULT_BYTES + 1); // its own blob
      return `done:${t.payload?.length}`;
    });
    const reader = new ResultsReader(ports, a);
    const seen = new Map<number, TaskOutcome>();
    const deadline = Date.now() + 45_000;
    while (seen.size < total && Date.now() < deadline) {
      for (const o of await reader.poll()) seen.set(o.index, o);
      if (seen.size < total) await new Promise((r) => setTimeout(r, 100));
    }
    expect(seen.size).toBe(total);
    expect(seen.get(39)?.status).toBe("CANCELLED");
    expect(seen.get(8)?.status).toBe("FAILED");
    expect(seen.get(12)).toMatchObject({ status: "SUCCEEDED", attempt: 2 });
    expect((await getTask(ports, a, 3)).status).toBe("SUCCEEDED");
    await closeSession(ports, a);
    expect((await getSessionProgress(ports, a)).settled).toBe(true);
    // A commit that landed late for readers is stored again under a later sort key.
    const [entry] = (await ports.store.readCompletions(a, 0, undefined, 1)).entries;
    await ports.store.putCompletion({ ...entry!, sortKey: `${String(Date.now()).padStart(13, "0")}#x` });

    await usage.flush();
    expect((await ports.store.getUsage(a)).expiresAt).toBeUndefined(); // not a usage counter
    // The reaper drops both settled sessions from the active index (their last writes).
    await new Promise((r) => setTimeout(r, 1_100));
    expect(await reap(ports)).toMatchObject({ deactivated: 2 });
    const to = Math.floor(Date.now() / 1000) + 30 * DAY_SECONDS;

    const items = await scanTable(g);
    expect(new Set(items.map(kindOf))).toEqual(
      new Set([
        "session",
        "group lock",
        "directory",
        "chunk",
        "completion",
        "failed runs",
        "counters",
        "usage",
        "history",
      ]),
    );
    expect(outside(items, from, to)).toEqual([]);
  });

  it("honours a configured retention, and renews what a long session's tasks do not rewrite", async () => {
    const clock = new FakeClock(Date.now());
    const g = await grid({ clock, retentionDays: 3 });
    const ports = g.ports;
    const key = { tenant: "acme", sessionId: "long" };
    await createSession(ports, key.tenant, { sessionId: key.sessionId });
    await submitTasks(ports, key, {
      tasks: [{ index: 0 }, { index: 1 }, { index: Limits.GROUP_SIZE }, { index: 3 * Limits.GROUP_SIZE }],
    });
    await ports.store.addUsage(key, 3, { "api|req": 1 });
    const written = Math.floor(clock.now() / 1000) + 3 * DAY_SECONDS;
    const before = await scanTable(g);
    expect(outside(before, written, written)).toEqual([]);
    expect((await ports.store.getSession(key))?.renewDue).toBeUndefined();

    // Two days on (no worker: the tasks still wait), the group locks, directory entries and
    // shards were written once, two days ago: with a three-day retention they must be renewed
    // now, not in a day when they expire mid-session.
    clock.advance(2 * DAY_SECONDS * 1000);
    expect((await ports.store.getSession(key))?.renewDue).toBe(true);
    await reap(ports);
    const renewed = Math.floor(clock.now() / 1000) + 3 * DAY_SECONDS;
    const after = await scanTable(g);
    expect(outside(after, renewed, renewed)).toEqual([]);
    // Renewing created nothing (no empty shard, no stub); the pass's history snapshot is new
    // (written now, it expires with the rest).
    const keys = (items: Record<string, unknown>[]) =>
      items
        .filter((i) => kindOf(i) !== "history")
        .map((i) => `${i.pk as string}|${i.sk as string}`)
        .sort();
    expect(keys(after)).toEqual(keys(before));
    expect(after.filter((i) => kindOf(i) === "history")).toHaveLength(1);
    expect((await ports.store.getSession(key))?.renewDue).toBeUndefined();
    expect(await ports.store.getUsage(key)).toEqual({ "api|req": 1 });
  });

  it("writes expiresAt in epoch seconds from the store's retention, and refuses a retention that is not whole days", async () => {
    const g = await grid();
    const clock = new FakeClock(1_800_000_000_500);
    const store = new DynamoTaskStore(g.clients.doc, g.grid.table.name, { retentionDays: 7, clock });
    await createSession({ ...g.ports, store, clock }, "acme", { sessionId: "s" });
    const out = await g.clients.doc.send(
      new GetCommand({ TableName: g.grid.table.name, Key: { pk: "T#acme#S#s", sk: "#SESSION" } }),
    );
    expect(out.Item?.expiresAt).toBe(1_800_000_000 + 7 * DAY_SECONDS);
    for (const retentionDays of [0, 1.5, -1, Number.NaN])
      expect(() => new DynamoTaskStore(g.clients.doc, "t", { retentionDays })).toThrow(
        "retentionDays must be a whole number of days, at least 1",
      );
  });
});
