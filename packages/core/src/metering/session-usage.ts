/**
 * What each session cost: the AWS requests it caused, the Lambda time and the agent time it
 * used, kept as additive counters and priced from the one price table.
 *
 * Requests are attributed by the counting middleware itself, from what each call carries: a
 * DynamoDB key (`T#{tenant}#S#{session}…`), an S3 object key (`t/{tenant}/s/{session}/…`), a
 * ticket's body (its tenant and session), or the receipt handle of a ticket it received
 * earlier. A call that touches several sessions (a batched receive, a heartbeat batch) is
 * split by the items of each. Calls that belong to no session (an empty long poll, the reaper's
 * index scans, the scaler's queue reads, the writes of these counters themselves) are the
 * grid's own and counted apart.
 *
 * Compute is added by the code that knows it: a Lambda invocation's GB-seconds split over the
 * sessions of the tickets it ran, an API request to its session, an agent's instance-seconds
 * over the sessions of the tasks it ran (see `AgentTime`).
 */
import { type BillableUsage, priceUsage, sqsBilledRequests } from "./billing.ts";
import type { MeteredCall } from "./call-meter.ts";
import { measureDynamoCall } from "./dynamo-usage.ts";
import { AWS_LIST_PRICES, ec2HourlyRate, type PriceTable } from "./prices.ts";

/** Additive counters: name → amount. Names: see `counterName`. */
export type UsageCounters = Record<string, number>;

/** A session, as `tenant/sessionId`. */
type SessionId = string;

const PK = /^T#([^#]+)#S#([^#]+)/;
const BLOB = /^t\/([^/]+)\/s\/([^/]+)\//;
const TICKET = /^\{"v":1,"t":"([^"]+)","s":"([^"]+)"/;

/** Counter names. */
export const counterName = {
  calls: (service: string, operation: string) => `op|${service}|${operation}|calls`,
  billed: (service: string, operation: string) => `op|${service}|${operation}|req`,
  wru: (service: string, operation: string) => `op|${service}|${operation}|wru`,
  rru: (service: string, operation: string) => `op|${service}|${operation}|rru`,
  lambdaInvocations: "lambda|inv",
  lambdaGbSeconds: "lambda|gbs",
  apiRequests: "api|req",
  /** Agent instance-seconds by instance type and market (`local` for local processes). */
  agentSeconds: (instanceType: string, market: string) => `agent|${instanceType}|${market}|s`,
} as const;

function add(into: UsageCounters, name: string, amount: number): void {
  if (amount !== 0 && Number.isFinite(amount)) into[name] = (into[name] ?? 0) + amount;
}

/** Adds `b` into `a` (mutated) and returns it. */
export function addCounters(a: UsageCounters, b: UsageCounters): UsageCounters {
  for (const [k, v] of Object.entries(b)) add(a, k, v);
  return a;
}

/** Strings in `value`, depth first, at most `budget` nodes visited (a call's keys come first). */
function visitStrings(value: unknown, visit: (s: string) => void, budget = 4_000): void {
  const stack: unknown[] = [value];
  while (stack.length > 0 && budget-- > 0) {
    const v = stack.pop();
    if (typeof v === "string") visit(v);
    else if (Array.isArray(v)) for (let i = v.length - 1; i >= 0; i--) stack.push(v[i]);
    else if (v !== null && typeof v === "object") for (const x of Object.values(v)) stack.push(x);
  }
}

/** Bounded map of receipt handle → session, so acks and visibility changes find their session. */
class Receipts {
  readonly #map = new Map<string, SessionId>();
  readonly #max: number;
  constructor(max = 50_000) {
    this.#max = max;
  }
  set(receipt: string, session: SessionId): void {
    this.#map.set(receipt, session);
    if (this.#map.size > this.#max) this.#map.delete(this.#map.keys().next().value!);
  }
  get(receipt: string): SessionId | undefined {
    return this.#map.get(receipt);
  }
}

let nextRecorderId = 1_000;

/**
 * Keeps per-session usage counters in memory until `drain`. Fed by the counting middleware
 * (`attachCallMeter(client, recorder)`) and by `add`.
 */
export class SessionUsageRecorder {
  /** Distinguishes recorders so that each one's middleware gets its own stack name. */
  readonly id = nextRecorderId++;
  readonly #prices: PriceTable;
  readonly #usage = new Map<SessionId, UsageCounters>();
  readonly #receipts = new Receipts();
  /** Calls that belonged to no session (the grid's own). */
  unattributedCalls = 0;

  constructor(prices: PriceTable = AWS_LIST_PRICES) {
    this.#prices = prices;
  }

  /** Records one call, split over the sessions it touched. */
  record(call: MeteredCall): void {
    const input = call.input as Record<string, unknown>;
    const output = call.output as Record<string, unknown> | undefined;
    const shares = this.#sessionsOf(call.service, call.operation, input, output);
    if (shares.size === 0) {
      this.unattributedCalls++;
      return;
    }
    let wru = 0;
    let rru = 0;
    let billed = 1;
    if (call.service === "DynamoDB") {
      const m = measureDynamoCall(call.operation, input, output, call.error, {
        partitionKey: "pk",
        indexKeys: {},
      });
      wru = m.wru;
      rru = m.rru;
    } else if (call.service === "SQS") {
      billed = sqsBilledRequests(call.operation, input, output, this.#prices);
    }
    let total = 0;
    for (const n of shares.values()) total += n;
    for (const [session, n] of shares) {
      const w = n / total;
      const c = this.#of(session);
      add(c, counterName.calls(call.service, call.operation), w);
      add(c, counterName.billed(call.service, call.operation), billed * w);
      add(c, counterName.wru(call.service, call.operation), wru * w);
      add(c, counterName.rru(call.service, call.operation), rru * w);
    }
  }

  /** Adds counters to a session (compute time, API requests). */
  add(session: { tenant: string; sessionId: string }, counters: UsageCounters): void {
    addCounters(this.#of(`${session.tenant}/${session.sessionId}`), counters);
  }

  /** Takes the counters recorded so far, per session, and forgets them. */
  drain(): Array<{ session: { tenant: string; sessionId: string }; counters: UsageCounters }> {
    const out = [...this.#usage].map(([id, counters]) => {
      const slash = id.indexOf("/");
      return { session: { tenant: id.slice(0, slash), sessionId: id.slice(slash + 1) }, counters };
    });
    this.#usage.clear();
    return out;
  }

  /**
   * Notes tickets received other than through a metered ReceiveMessage (a Lambda event source
   * delivers them in the event), so their acknowledgements find their session.
   */
  noteReceived(tickets: Iterable<{ body: string; receipt: string }>): void {
    for (const t of tickets) {
      const m = TICKET.exec(t.body);
      if (m) this.#receipts.set(t.receipt, `${m[1]}/${m[2]}`);
    }
  }

  /** Puts drained counters back (a flush that failed is tried again with the next one). */
  restore(drained: ReturnType<SessionUsageRecorder["drain"]>): void {
    for (const { session, counters } of drained) this.add(session, counters);
  }

  #of(session: SessionId): UsageCounters {
    let c = this.#usage.get(session);
    if (!c) {
      c = {};
      this.#usage.set(session, c);
    }
    return c;
  }

  #sessionsOf(
    service: string,
    operation: string,
    input: Record<string, unknown>,
    output: Record<string, unknown> | undefined,
  ): Map<SessionId, number> {
    const shares = new Map<SessionId, number>();
    const count = (id: SessionId | undefined) => {
      if (id !== undefined) shares.set(id, (shares.get(id) ?? 0) + 1);
    };
    const match = (re: RegExp, s: string) => {
      const m = re.exec(s);
      return m ? `${m[1]}/${m[2]}` : undefined;
    };
    if (service === "DynamoDB") {
      // Keys, items and expression values; `T#…#S#…` strings only ever name this grid's sessions.
      // The usage counters' own items (`…#U#{shard}`) are left out: a flush billed to its session
      // would have the next flush write again, forever.
      let usageItem = false;
      visitStrings(input, (s) => {
        if (!s.startsWith("T#")) return;
        if (s.includes("#U#")) usageItem = true;
        else count(match(PK, s));
      });
      if (usageItem) shares.clear();
    } else if (service === "S3") {
      if (typeof input.Key === "string") count(match(BLOB, input.Key));
    } else if (service === "SQS") {
      if (operation === "SendMessage") count(match(TICKET, String(input.MessageBody ?? "")));
      else if (operation === "SendMessageBatch")
        for (const e of (input.Entries as Array<{ MessageBody?: string }>) ?? [])
          count(match(TICKET, e.MessageBody ?? ""));
      else if (operation === "ReceiveMessage") {
        for (const m of (output?.Messages as Array<{ Body?: string; ReceiptHandle?: string }>) ?? []) {
          const id = match(TICKET, m.Body ?? "");
          count(id);
          if (id && m.ReceiptHandle) this.#receipts.set(m.ReceiptHandle, id);
        }
      } else if (operation === "DeleteMessage" || operation === "ChangeMessageVisibility")
        count(this.#receipts.get(String(input.ReceiptHandle ?? "")));
      else if (operation === "DeleteMessageBatch" || operation === "ChangeMessageVisibilityBatch")
        for (const e of (input.Entries as Array<{ ReceiptHandle?: string }>) ?? [])
          count(this.#receipts.get(e.ReceiptHandle ?? ""));
    }
    return shares;
  }
}

/** One line of a session's cost. */
export interface SessionCostLine {
  /** `DynamoDB`, `SQS`, `S3`, `Lambda`, `APIGateway`, `EC2`, or `local agent` (a local process). */
  service: string;
  /** The operation, for EC2 `{instanceType} {market}`, for a local agent `process time`. */
  item: string;
  /** Requests (calls), invocations, or instance-seconds for EC2. */
  quantity: number;
  unit: "requests" | "invocations" | "GB-seconds" | "instance-seconds";
  dollars: number;
  /** False when the price table has no price for it (its dollars are 0). */
  priced: boolean;
}

/** A session's cost at list price. */
export interface SessionCost {
  dollars: number;
  currency: "USD";
  /** AWS requests the session caused (API requests included). */
  requests: number;
  lambdaGbSeconds: number;
  agentSeconds: number;
  lines: SessionCostLine[];
  prices: { region: string; takenOn: string; source: string };
}

const round = (n: number, digits: number) => Number(n.toFixed(digits));

/** Prices a session's counters. */
export function priceSessionUsage(
  counters: UsageCounters,
  prices: PriceTable = AWS_LIST_PRICES,
): SessionCost {
  const lines: SessionCostLine[] = [];
  const ops = new Map<string, BillableUsage & { calls: number }>();
  for (const [name, value] of Object.entries(counters)) {
    const parts = name.split("|");
    if (parts[0] !== "op" || parts.length !== 4) continue;
    const [, service, operation, field] = parts as [string, string, string, string];
    const key = `${service}|${operation}`;
    const u = ops.get(key) ?? {
      service,
      operation,
      wru: 0,
      rru: 0,
      billedRequests: 0,
      gbSeconds: 0,
      calls: 0,
    };
    if (field === "calls") u.calls += value;
    else if (field === "req") u.billedRequests += value;
    else if (field === "wru") u.wru += value;
    else if (field === "rru") u.rru += value;
    ops.set(key, u);
  }
  for (const u of [...ops.values()].sort(
    (a, b) => a.service.localeCompare(b.service) || a.operation.localeCompare(b.operation),
  )) {
    const { dollars, priced } = priceUsage(u, prices);
    lines.push({
      service: u.service,
      item: u.operation,
      quantity: u.calls,
      unit: "requests",
      dollars,
      priced,
    });
  }
  const api = counters[counterName.apiRequests] ?? 0;
  const gbs = counters[counterName.lambdaGbSeconds] ?? 0;
  // Compute and API lines: [service, item, counter, unit, price per unit].
  const compute: Array<[string, string, number, SessionCostLine["unit"], number]> = [
    ["APIGateway", "HTTP API", api, "requests", prices.apiGateway.httpRequest],
    [
      "Lambda",
      "invocations",
      counters[counterName.lambdaInvocations] ?? 0,
      "invocations",
      prices.lambda.request,
    ],
    ["Lambda", "duration (arm64)", gbs, "GB-seconds", prices.lambda.arm64GbSecond],
  ];
  for (const [service, item, quantity, unit, price] of compute)
    if (quantity > 0) lines.push({ service, item, quantity, unit, dollars: quantity * price, priced: true });
  let agentSeconds = 0;
  for (const [name, seconds] of Object.entries(counters)) {
    const parts = name.split("|");
    if (parts[0] !== "agent" || parts.length !== 4) continue;
    const [, type, market] = parts as [string, string, string, string];
    agentSeconds += seconds;
    const rate = ec2HourlyRate(type, market, prices);
    // A local agent is a process on this machine, not an instance: said so, and unpriced.
    const local = market === "local";
    lines.push({
      service: local ? "local agent" : "EC2",
      item: local ? "process time" : `${type} ${market}`,
      quantity: seconds,
      unit: "instance-seconds",
      dollars: rate === undefined ? 0 : (seconds / 3_600) * rate,
      priced: rate !== undefined,
    });
  }
  const requests = [...ops.values()].reduce((n, u) => n + u.calls, 0) + api;
  return {
    dollars: round(
      lines.reduce((n, l) => n + l.dollars, 0),
      9,
    ),
    currency: "USD",
    requests: round(requests, 2),
    lambdaGbSeconds: round(gbs, 3),
    agentSeconds: round(agentSeconds, 1),
    lines: lines.map((l) => ({ ...l, quantity: round(l.quantity, 3), dollars: round(l.dollars, 9) })),
    prices: { region: prices.region, takenOn: prices.takenOn, source: prices.source },
  };
}

/**
 * An agent's instance time, charged to the sessions of the tasks it ran: the time it had at
 * least one task running, split between the sessions of those tasks in proportion to their
 * task time (so four concurrent tasks of one session for 10 s cost 10 instance-seconds, not
 * 40). Time with no task running is charged to no session: a fixed agent idles whatever runs,
 * and a session that ran only on Lambda-style workers, or one task on the agent, must not pay
 * for the minutes the agent waited (a scaled agent's boot and idle tail are the fleet's own
 * cost, as an empty long poll is the grid's).
 */
export class AgentTime {
  readonly #now: () => number;
  readonly #name: string;
  /** Task time per session in the open window. */
  #taskMs = new Map<SessionId, number>();
  /** Time with a task running in the open window. */
  #busyMs = 0;
  /** Since when a task has been running (while one is). */
  #busySince: number | undefined;
  #running = new Map<number, { session: SessionId; since: number }>();
  #seq = 0;

  constructor(options: { instanceType: string; market: string; now?: () => number }) {
    this.#now = options.now ?? Date.now;
    this.#name = counterName.agentSeconds(options.instanceType, options.market);
  }

  /** A task of `session` starts; call the returned function when it ends. */
  start(session: { tenant: string; sessionId: string }): () => void {
    const id = this.#seq++;
    const now = this.#now();
    if (this.#running.size === 0) this.#busySince = now;
    this.#running.set(id, { session: `${session.tenant}/${session.sessionId}`, since: now });
    return () => {
      const run = this.#running.get(id);
      if (!run) return;
      this.#running.delete(id);
      const end = this.#now();
      this.#addTask(run.session, end - run.since);
      if (this.#running.size === 0 && this.#busySince !== undefined) {
        this.#busyMs += Math.max(end - this.#busySince, 0);
        this.#busySince = undefined;
      }
    };
  }

  /**
   * Closes the window: the instance-seconds each session's tasks kept the agent busy in it.
   * (`final` is accepted for callers that close the last window; it changes nothing.)
   */
  window(_final = false): Array<{
    session: { tenant: string; sessionId: string };
    counters: UsageCounters;
  }> {
    const now = this.#now();
    // Running tasks count up to now, then start afresh in the next window.
    for (const run of this.#running.values()) {
      this.#addTask(run.session, now - run.since);
      run.since = now;
    }
    if (this.#busySince !== undefined) {
      this.#busyMs += Math.max(now - this.#busySince, 0);
      this.#busySince = now;
    }
    const shares = this.#taskMs;
    const busyMs = this.#busyMs;
    this.#taskMs = new Map();
    this.#busyMs = 0;
    let total = 0;
    for (const v of shares.values()) total += v;
    return [...shares].map(([id, v]) => {
      const slash = id.indexOf("/");
      const ms = total > 0 ? (busyMs * v) / total : busyMs / shares.size;
      return {
        session: { tenant: id.slice(0, slash), sessionId: id.slice(slash + 1) },
        counters: { [this.#name]: ms / 1_000 },
      };
    });
  }

  #addTask(session: SessionId, ms: number): void {
    this.#taskMs.set(session, (this.#taskMs.get(session) ?? 0) + Math.max(ms, 0));
  }
}
