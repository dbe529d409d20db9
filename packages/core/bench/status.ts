/**
 * `npm run bench:status -- --small N --large N`: what a status read and a results page cost in
 * DynamoDB read units, for a small and a large session (issue "Status reads cost O(tasks)": a
 * status read must cost about the same whatever the session's size). On DynamoDB Local +
 * fauxqs, each session is submitted (64-task chunks, tiny payloads, batches of 10,000), run by
 * no-op agents and read at three moments: right after submit, mid-run (agents held with tasks
 * in flight) and settled. The reads go through their own AWS clients, so agents' calls never
 * mix into the figures. The large session runs for at most `--runSeconds`; what is left then is
 * cancelled (the summary says how many ran). The last line is JSON.
 *
 * Units are reported twice: `rru*` as the CallMeter measures them (DynamoDB Local's
 * ConsumedCapacity), and `awsRru*` as AWS bills the same calls. DynamoDB Local bills nothing
 * for keys that do not exist and for a Query that matches nothing; AWS bills a read unit for
 * each (developer guide, "DynamoDB read and write operations"), so the model adds those.
 * "Before the fix" re-enacts the old status read (the session, its group directory and every
 * chunk record) on the same data, for reference.
 *
 * Longer than the ~300-line guideline: a script whose helpers (the read ledger, the holdable
 * agents) have no other user, kept in one file so the benchmark reads top to bottom.
 */
import { randomUUID } from "node:crypto";
import { checkNodeVersion } from "../../../scripts/check-node.ts";
import {
  type AwsClients,
  awsGridPorts,
  createAwsClients,
  destroyAwsClients,
  LOCAL_CREDENTIALS,
  provisionGrid,
} from "../src/adapters/aws/index.ts";
import { Dispatcher } from "../src/dispatch/dispatcher.ts";
import type { GridPorts } from "../src/dispatch/grid-ports.ts";
import { listSessionGroups } from "../src/dispatch/groups.ts";
import { getSessionProgress } from "../src/dispatch/progress.ts";
import { readResultsPage } from "../src/dispatch/results-page.ts";
import { cancelSession, closeSession, createSession, getSession } from "../src/dispatch/sessions.ts";
import { submitTasks } from "../src/dispatch/submitter.ts";
import { runPollLoop } from "../src/dispatch/worker-loop.ts";
import { startDynamoDbLocal, startFauxqsEmulator } from "../src/emulators/index.ts";
import { finishedCount } from "../src/engine/progress.ts";
import { isGridError } from "../src/errors.ts";
import { attachCallMeter, CallMeter, type MeteredCall, measureDynamoCall } from "../src/metering/index.ts";
import { Limits } from "../src/model/limits.ts";
import type { SessionKey } from "../src/model/records.ts";
import { defineGrid } from "../src/resources.ts";
import { mapLimit } from "../src/util.ts";
import { numberFlags } from "./args.ts";

checkNodeVersion();
const flags = numberFlags({ small: 10_000, large: 1_000_000, agents: 2, runSeconds: 300 });
const QUEUE = "default-normal";
const BATCH = Limits.MAX_BATCH_TASKS;
const SUBMIT_CONCURRENCY = 4;
const PAGE_LIMIT = 1_000;
const MID_RUN_PAGES = 5;
/** Share of a session's tasks started before the agents are held for the mid-run reads. */
const MID_RUN_SHARE = 0.3;

/** Read units and calls of some reads. */
interface ReadCost {
  rru: number;
  awsRru: number;
  calls: number;
}

type Json = Record<string, unknown>;
const asJson = (v: unknown): Json | undefined => (v && typeof v === "object" ? (v as Json) : undefined);

/**
 * Read units AWS bills for one read call: what the response reports, plus one unit (half when
 * eventually consistent) per requested key that does not exist, and at least that for a Query.
 */
function awsReadUnits(call: MeteredCall, reported: number): number {
  const input = call.input as Json;
  const output = asJson(call.output) ?? {};
  const least = (consistent: unknown) => (consistent === true ? 1 : 0.5);
  switch (call.operation) {
    case "GetItem":
      return output.Item === undefined ? reported + least(input.ConsistentRead) : reported;
    case "Query":
    case "Scan":
      return Math.max(reported, least(input.ConsistentRead));
    case "BatchGetItem": {
      let units = reported;
      for (const [table, request] of Object.entries(asJson(input.RequestItems) ?? {})) {
        const asked = (asJson(request)?.Keys as unknown[] | undefined)?.length ?? 0;
        const found = (asJson(output.Responses)?.[table] as unknown[] | undefined)?.length ?? 0;
        const left = (asJson(asJson(output.UnprocessedKeys)?.[table])?.Keys as unknown[] | undefined)?.length;
        units += (asked - found - (left ?? 0)) * least(asJson(request)?.ConsistentRead);
      }
      return units;
    }
    default:
      return reported;
  }
}

/** The reads' meter: a CallMeter, plus the AWS-billed units and which calls reported capacity. */
class ReadLedger {
  readonly meter = new CallMeter();
  readonly id = this.meter.id;
  awsRru = 0;
  /** Per DynamoDB operation: calls, and calls whose response carried ConsumedCapacity. */
  readonly reporting = new Map<string, { calls: number; withCapacity: number }>();

  record(call: MeteredCall): void {
    this.meter.record(call);
    if (call.service !== "DynamoDB" || call.error !== undefined) return;
    const output = asJson(call.output);
    const seen = this.reporting.get(call.operation) ?? { calls: 0, withCapacity: 0 };
    seen.calls++;
    if (output?.ConsumedCapacity !== undefined) seen.withCapacity++;
    this.reporting.set(call.operation, seen);
    const names = { partitionKey: "pk", indexKeys: {} };
    const reported = measureDynamoCall(call.operation, call.input as Json, output, undefined, names).rru;
    this.awsRru += awsReadUnits(call, reported);
  }

  totals(): ReadCost {
    const dynamo = this.meter.operations().filter((o) => o.service === "DynamoDB");
    const sum = (f: (o: (typeof dynamo)[number]) => number) => dynamo.reduce((s, o) => s + f(o), 0);
    return { rru: sum((o) => o.rru), awsRru: this.awsRru, calls: sum((o) => o.calls) };
  }

  /** Runs `read` (nothing else may use the reads' clients meanwhile) and returns what it cost. */
  async measure<T>(read: () => Promise<T>): Promise<{ value: T; cost: ReadCost }> {
    const before = this.totals();
    const value = await read();
    const after = this.totals();
    const cost = {
      rru: after.rru - before.rru,
      awsRru: after.awsRru - before.awsRru,
      calls: after.calls - before.calls,
    };
    return { value, cost };
  }
}

const t0 = performance.now();
const elapsed = () => ((performance.now() - t0) / 1000).toFixed(1);
const log = (line: string) => console.log(`[${elapsed().padStart(6)} s] ${line}`);
const fmt = (n: number) => n.toLocaleString("en");
const round = (n: number, digits = 2) => Number(n.toFixed(digits));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** No-op agents that can be held (runners wait at a gate) so a mid-run moment stays still. */
class Agents {
  readonly #stop = new AbortController();
  readonly #loops: Promise<void>[] = [];
  #started = 0;
  #holdAfter = Number.POSITIVE_INFINITY;
  #open: () => void = () => {};
  #gate: Promise<void> = Promise.resolve();
  #holding = false;
  held = 0;

  constructor(ports: GridPorts, count: number) {
    for (let i = 0; i < count; i++) {
      const dispatcher = new Dispatcher(ports, {
        owner: `agent-${i}`,
        concurrency: 256,
        runner: async (task) => {
          if (this.#started++ >= this.#holdAfter) {
            this.held++;
            await new Promise<void>((resolve) => {
              void this.#gate.then(resolve);
              task.signal.addEventListener("abort", () => resolve(), { once: true });
            });
          }
          return undefined;
        },
      });
      const options = { queues: [QUEUE], maxLeases: 20, idleWaitSeconds: 1 };
      this.#loops.push(runPollLoop(ports, dispatcher, options, this.#stop.signal));
    }
  }

  /** Holds every task started after `more` further tasks (0: from now), or sooner if already set. */
  holdAfter(more: number): void {
    if (!this.#holding) {
      this.#holding = true;
      this.#gate = new Promise((resolve) => {
        this.#open = resolve;
      });
      this.held = 0;
    }
    this.#holdAfter = Math.min(this.#holdAfter, this.#started + more);
  }

  release(): void {
    this.#holding = false;
    this.#holdAfter = Number.POSITIVE_INFINITY;
    this.#open();
  }

  async stop(): Promise<void> {
    this.release();
    this.#stop.abort();
    await Promise.allSettled(this.#loops);
  }
}

/** What one session measured. */
interface SessionFigures {
  tasks: number;
  ran: number;
  cancelled: number;
  submitSeconds: number;
  runSeconds: number;
  status: { afterSubmit: ReadCost; midRun: ReadCost; settled: ReadCost };
  finishedAtMidRun: number;
  pagesMidRun: ReadCost[];
  pagesSettled: ReadCost[];
  outcomesRead: number;
  oldDesign: ReadCost;
}

async function submitSession(
  ports: GridPorts,
  key: SessionKey,
  tasks: number,
  label: string,
): Promise<number> {
  await createSession(ports, key.tenant, { sessionId: key.sessionId });
  const starts = Array.from({ length: Math.ceil(tasks / BATCH) }, (_, i) => i * BATCH);
  const every = Math.max(1, Math.ceil(starts.length / 10));
  const began = performance.now();
  let done = 0;
  await mapLimit(starts, SUBMIT_CONCURRENCY, async (from) => {
    const n = Math.min(BATCH, tasks - from);
    const body = {
      tasks: Array.from({ length: n }, (_, i) => ({ index: from + i, payload: `{"n":${from + i}}` })),
    };
    await submitTasks(ports, key, body);
    if (++done % every === 0 || done === starts.length)
      log(`${label}: submitted ${fmt(Math.min(tasks, done * BATCH))} / ${fmt(tasks)} tasks`);
  });
  return (performance.now() - began) / 1000;
}

/** Reads pages from the start until `count` pages were read or the session is settled. */
async function readPages(ledger: ReadLedger, ports: GridPorts, key: SessionKey, count: number) {
  const costs: ReadCost[] = [];
  let cursor: string | undefined;
  let outcomes = 0;
  for (let settled = false; !settled && costs.length < count; ) {
    const { value, cost } = await ledger.measure(() =>
      readResultsPage(ports, key, { cursor, limit: PAGE_LIMIT }),
    );
    costs.push(cost);
    outcomes += value.outcomes.length;
    cursor = value.cursor;
    settled = value.settled;
  }
  return { costs, outcomes };
}

/** The status read before the fix: the session, its group directory, and every chunk record. */
async function oldStatusRead(ports: GridPorts, key: SessionKey): Promise<void> {
  await getSession(ports, key);
  await mapLimit(await listSessionGroups(ports, key), 8, (g) => ports.store.listChunks(key, g));
}

type Progress = () => ReturnType<typeof getSessionProgress>;

/**
 * The mid-run moment: agents are held once MID_RUN_SHARE of the tasks started (or half the run
 * budget passed), with tasks in flight, and the reads happen while nothing moves.
 */
async function midRunReads(
  agents: Agents,
  runElapsed: () => number,
  progress: Progress,
  statusRead: () => Promise<ReadCost>,
  readMidRunPages: () => Promise<ReadCost[]>,
) {
  const first = await progress();
  const tasks = first.counts.total;
  agents.holdAfter(Math.floor(tasks * MID_RUN_SHARE));
  while (agents.held === 0 && finishedCount((await progress()).counts) < tasks) {
    if (runElapsed() > flags.runSeconds / 2) agents.holdAfter(0);
    await sleep(100);
  }
  await sleep(1_500); // lets the commits of chunks whose tasks all ran land
  const { counts } = await progress();
  const status = await statusRead();
  const pages = await readMidRunPages();
  agents.release();
  const line = `mid-run, ${fmt(finishedCount(counts))} finished, ${fmt(counts.running)} running, ${fmt(counts.queued)} queued`;
  return { status, pages, finished: finishedCount(counts) / tasks, line };
}

/** Waits until the session settles, cancelling what is left once the run budget is spent. */
async function runUntilSettled(
  runElapsed: () => number,
  progress: Progress,
  cancel: () => Promise<unknown>,
  label: string,
) {
  let last = performance.now();
  let cancelled = false;
  for (;;) {
    const p = await progress();
    if (p.settled) return p;
    if (!cancelled && runElapsed() > flags.runSeconds) {
      log(`${label}: run budget of ${flags.runSeconds} s spent; cancelling the rest`);
      await cancel();
      cancelled = true;
    }
    if (performance.now() - last > 5_000) {
      last = performance.now();
      const done = finishedCount(p.counts);
      log(
        `${label}: ${fmt(done)} / ${fmt(p.counts.total)} finished (${Math.round(done / runElapsed())} tasks/s)`,
      );
    }
    await sleep(200);
  }
}

async function measureSession(
  work: GridPorts,
  reads: GridPorts,
  ledger: ReadLedger,
  tasks: number,
  label: string,
): Promise<SessionFigures> {
  const key = { tenant: "bench", sessionId: label };
  const progress = () => getSessionProgress(work, key);
  const statusRead = async () => (await ledger.measure(() => getSessionProgress(reads, key))).cost;
  const submitSeconds = await submitSession(work, key, tasks, label);
  const afterSubmit = await statusRead();
  await closeSession(work, key);

  const agents = new Agents(work, flags.agents);
  const runStart = performance.now();
  const runElapsed = () => (performance.now() - runStart) / 1000;
  let mid: Awaited<ReturnType<typeof midRunReads>>;
  let end: Awaited<ReturnType<typeof progress>>;
  let runSeconds: number;
  try {
    mid = await midRunReads(
      agents,
      runElapsed,
      progress,
      statusRead,
      async () => (await readPages(ledger, reads, key, MID_RUN_PAGES)).costs,
    );
    log(`${label}: ${mid.line}`);
    end = await runUntilSettled(runElapsed, progress, () => cancelSession(work, key), label);
    runSeconds = runElapsed();
  } finally {
    await agents.stop();
  }
  log(`${label}: settled, ${fmt(end.counts.succeeded)} succeeded, ${fmt(end.counts.cancelled)} cancelled`);

  const settled = await statusRead();
  const oldDesign = (await ledger.measure(() => oldStatusRead(reads, key))).cost;
  const all = await readPages(ledger, reads, key, Number.POSITIVE_INFINITY);
  log(`${label}: read ${fmt(all.outcomes)} outcomes in ${all.costs.length} pages`);
  return {
    tasks,
    ran: end.counts.succeeded + end.counts.failed,
    cancelled: end.counts.cancelled,
    submitSeconds,
    runSeconds,
    status: { afterSubmit, midRun: mid.status, settled },
    finishedAtMidRun: mid.finished,
    pagesMidRun: mid.pages,
    pagesSettled: all.costs,
    outcomesRead: all.outcomes,
    oldDesign,
  };
}

const avg = (xs: number[]) => (xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length);
const max = (xs: number[]) => Math.max(0, ...xs);
const statusMax = (f: SessionFigures, unit: keyof ReadCost) =>
  max(Object.values(f.status).map((c) => c[unit]));
const byMoment = (f: SessionFigures, unit: keyof ReadCost) =>
  Object.fromEntries(Object.entries(f.status).map(([moment, c]) => [moment, c[unit]]));
const pages = (costs: ReadCost[], unit: keyof ReadCost, of: (xs: number[]) => number) =>
  round(of(costs.map((c) => c[unit])));

let dynamo: Awaited<ReturnType<typeof startDynamoDbLocal>>;
try {
  dynamo = await startDynamoDbLocal();
} catch (error) {
  console.error(isGridError(error) ? error.message : String(error));
  process.exit(1);
}
let fauxqs: Awaited<ReturnType<typeof startFauxqsEmulator>> | undefined;
const clients: AwsClients[] = [];
const shutdown = async () => {
  for (const c of clients.splice(0)) destroyAwsClients(c);
  await Promise.all([dynamo.stop(), fauxqs?.stop()]);
};
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.once(signal, () => void shutdown().finally(() => process.exit(130)));

try {
  fauxqs = await startFauxqsEmulator();
  const endpoints = { dynamoEndpoint: dynamo.endpoint, queueEndpoint: fauxqs.endpoint };
  const workClients = createAwsClients({ ...endpoints, credentials: LOCAL_CREDENTIALS });
  const readClients = createAwsClients({ ...endpoints, credentials: LOCAL_CREDENTIALS });
  clients.push(workClients, readClients);
  const grid = defineGrid({ prefix: `bench${randomUUID().slice(0, 6)}` });
  const urls = await provisionGrid(workClients, grid);
  const work = awsGridPorts(workClients, grid, urls);
  const reads = awsGridPorts(readClients, grid, urls);
  const ledger = new ReadLedger();
  attachCallMeter(readClients.dynamo, ledger);
  log(`sessions of ${fmt(flags.small)} and ${fmt(flags.large)} tasks, ${flags.agents} agents`);

  const small = await measureSession(work, reads, ledger, flags.small, "small");
  const large = await measureSession(work, reads, ledger, flags.large, "large");
  const seconds = (performance.now() - t0) / 1000;

  console.log(`\nRead units (DynamoDB Local's ConsumedCapacity; AWS-billed in brackets)\n`);
  for (const f of [small, large]) {
    const s = f.status;
    const show = (c: ReadCost) => `${c.rru} [${c.awsRru}] in ${c.calls} calls`;
    console.log(
      `${fmt(f.tasks)} tasks: submitted in ${f.submitSeconds.toFixed(1)} s; ${fmt(f.ran)} ran and ${fmt(f.cancelled)} were cancelled in ${f.runSeconds.toFixed(1)} s`,
    );
    console.log(`  status read after submit  ${show(s.afterSubmit)}`);
    console.log(
      `  status read mid-run       ${show(s.midRun)} (${Math.round(f.finishedAtMidRun * 100)}% finished)`,
    );
    console.log(`  status read settled       ${show(s.settled)}`);
    console.log(`  before the fix (re-read)  ${show(f.oldDesign)} (reads every chunk, as before fe8d15f)`);
    const [pa, pm] = [pages(f.pagesSettled, "rru", avg), pages(f.pagesSettled, "rru", max)];
    const [aa, am] = [pages(f.pagesSettled, "awsRru", avg), pages(f.pagesSettled, "awsRru", max)];
    console.log(
      `  results page, settled     avg ${pa} [${aa}], max ${pm} [${am}] over ${f.pagesSettled.length} pages`,
    );
    console.log(
      `  results page, mid-run     avg ${pages(f.pagesMidRun, "rru", avg)} [${pages(f.pagesMidRun, "awsRru", avg)}], max ${pages(f.pagesMidRun, "rru", max)} [${pages(f.pagesMidRun, "awsRru", max)}] over ${f.pagesMidRun.length} pages`,
    );
  }
  if (large.cancelled > 0)
    console.log(
      `\nThe large session ran ${fmt(large.ran)} of ${fmt(large.tasks)} tasks within --runSeconds ${flags.runSeconds}; the other ${fmt(large.cancelled)} were cancelled (terminal, so it settled).`,
    );
  const operations = [...ledger.reporting].map(([op, r]) => `${op} ${r.withCapacity}/${r.calls}`).join(", ");
  console.log(`\nCalls whose response carried ConsumedCapacity: ${operations}`);

  const ratio = statusMax(large, "rru") / statusMax(small, "rru");
  const awsRatio = statusMax(large, "awsRru") / statusMax(small, "awsRru");
  const ok = ratio <= 2 && ratio >= 0.5 && awsRatio <= 2 && awsRatio >= 0.5;
  console.log(
    `${ok ? "✓" : "✗"} status read, large vs small session: ${round(ratio)}× (AWS-billed ${round(awsRatio)}×); must be within 2×\n`,
  );
  if (!ok) process.exitCode = 1;
  const pair = (f: (s: SessionFigures) => unknown) => ({ small: f(small), large: f(large) });
  console.log(
    JSON.stringify({
      tasksSmall: small.tasks,
      tasksLarge: large.tasks,
      tasksLargeRan: large.ran,
      tasksLargeCancelled: large.cancelled,
      chunkTasks: 64,
      rruPerStatusRead: pair((f) => statusMax(f, "rru")),
      rruPerStatusReadBy: pair((f) => byMoment(f, "rru")),
      awsRruPerStatusRead: pair((f) => statusMax(f, "awsRru")),
      awsRruPerStatusReadBy: pair((f) => byMoment(f, "awsRru")),
      callsPerStatusRead: pair((f) => statusMax(f, "calls")),
      statusRatioLargeToSmall: round(ratio, 3),
      awsStatusRatioLargeToSmall: round(awsRatio, 3),
      oldDesignRruPerStatusRead: pair((f) => f.oldDesign.rru),
      oldDesignAwsRruPerStatusRead: pair((f) => f.oldDesign.awsRru),
      rruPerResultsPage: pair((f) => pages(f.pagesSettled, "rru", avg)),
      rruPerResultsPageMax: pair((f) => pages(f.pagesSettled, "rru", max)),
      awsRruPerResultsPage: pair((f) => pages(f.pagesSettled, "awsRru", avg)),
      awsRruPerResultsPageMax: pair((f) => pages(f.pagesSettled, "awsRru", max)),
      rruPerResultsPageMidRun: pair((f) => pages(f.pagesMidRun, "rru", avg)),
      rruPerResultsPageMidRunMax: pair((f) => pages(f.pagesMidRun, "rru", max)),
      awsRruPerResultsPageMidRun: pair((f) => pages(f.pagesMidRun, "awsRru", avg)),
      resultsPages: pair((f) => f.pagesSettled.length),
      outcomesPerResultsPage: pair((f) => round(f.outcomesRead / Math.max(1, f.pagesSettled.length), 1)),
      submitTasksPerSecond: pair((f) => Math.round(f.tasks / f.submitSeconds)),
      seconds: round(seconds, 1),
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    }),
  );
} finally {
  await shutdown();
}
