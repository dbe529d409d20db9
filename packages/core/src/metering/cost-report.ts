import { type BillableUsage, priceUsage } from "./billing.ts";
import { AWS_LIST_PRICES, type PriceTable } from "./prices.ts";

/** Usage of one service operation, observed by the meter or modelled by the caller. */
export interface OperationUsage extends BillableUsage {
  /** True for lines added with `addModelled`: requests a local run cannot observe. */
  modelled: boolean;
  calls: number;
  /** Calls that threw (still billed by AWS, and counted in `calls`). */
  errors: number;
  /** The part of `wru` estimated from request sizes instead of reported by DynamoDB. */
  estimatedWru: number;
}

/** One line of a {@link CostReport}. */
export interface CostRow extends OperationUsage {
  callsPerTask: number;
  dollars: number;
  /** False when the price table has no price for the service: its dollars are 0. */
  priced: boolean;
}

/** Totals of a {@link CostReport}, named as the benchmark's JSON line names them. */
export interface CostTotals {
  tasks: number;
  calls: number;
  /** All calls per task, modelled ones included. */
  callsPerTask: number;
  /** Calls per task that the meter observed (modelled lines left out). */
  observedCallsPerTask: number;
  wruPerTask: number;
  rruPerTask: number;
  dollars: number;
  dollarsPerMillionTasks: number;
  /** Most writes any one partition key (table or index) received; 0 when nothing was written. */
  maxWritesPerKey: number;
  /** The key that received `maxWritesPerKey` writes, or null. */
  hottestKey: string | null;
}

/** Calls, capacity and list-price dollars of a run, per operation and per task. */
export interface CostReport {
  rows: readonly CostRow[];
  totals: CostTotals;
  /** The report as a fixed-width text table, for a human at a terminal. */
  formatTable(): string;
}

function perTask(value: number, tasks: number): number {
  return value / tasks;
}

function byServiceThenOperation(a: OperationUsage, b: OperationUsage): number {
  if (a.modelled !== b.modelled) return a.modelled ? 1 : -1;
  return a.service.localeCompare(b.service) || a.operation.localeCompare(b.operation);
}

function hottest(writesPerKey: ReadonlyMap<string, number>): { key: string | null; writes: number } {
  let key: string | null = null;
  let writes = 0;
  for (const [k, n] of writesPerKey) {
    if (n > writes) {
      key = k;
      writes = n;
    }
  }
  return { key, writes };
}

/**
 * Prices usages at list price and divides them by `tasks`. Throws a RangeError unless `tasks`
 * is a positive number, since every figure the budgets name is per task.
 */
export function buildCostReport(
  usages: readonly OperationUsage[],
  writesPerKey: ReadonlyMap<string, number>,
  tasks: number,
  prices: PriceTable = AWS_LIST_PRICES,
): CostReport {
  if (!(tasks > 0)) throw new RangeError(`a cost report needs a positive task count, got ${tasks}`);
  const rows: CostRow[] = [...usages].sort(byServiceThenOperation).map((usage) => ({
    ...usage,
    callsPerTask: perTask(usage.calls, tasks),
    ...priceUsage(usage, prices),
  }));
  const sum = (pick: (row: CostRow) => number, only: (row: CostRow) => boolean = () => true) =>
    rows.filter(only).reduce((total, row) => total + pick(row), 0);
  const dollars = sum((r) => r.dollars);
  const calls = sum((r) => r.calls);
  const hot = hottest(writesPerKey);
  const totals: CostTotals = {
    tasks,
    calls,
    callsPerTask: perTask(calls, tasks),
    observedCallsPerTask: perTask(
      sum(
        (r) => r.calls,
        (r) => !r.modelled,
      ),
      tasks,
    ),
    wruPerTask: perTask(
      sum((r) => r.wru),
      tasks,
    ),
    rruPerTask: perTask(
      sum((r) => r.rru),
      tasks,
    ),
    dollars,
    dollarsPerMillionTasks: perTask(dollars, tasks) * 1_000_000,
    maxWritesPerKey: hot.writes,
    hottestKey: hot.key,
  };
  return { rows, totals, formatTable: () => formatCostTable(rows, totals) };
}

/** Fixed decimals, trailing zeros kept so that columns line up. */
function fixed(value: number, decimals: number): string {
  return value.toFixed(decimals);
}

function note(row: CostRow): string {
  const notes: string[] = [];
  if (row.modelled) notes.push("modelled");
  if (!row.priced) notes.push("unpriced");
  if (row.estimatedWru > 0) notes.push(`${fixed(row.estimatedWru, 1)} WRU estimated`);
  if (row.errors > 0) notes.push(`${row.errors} errors`);
  return notes.join(", ");
}

/**
 * Renders rows and totals as a text table: one line per operation, then the totals, then the
 * hottest partition key. DynamoDB bills by units, so its billed-request cell shows "-".
 */
export function formatCostTable(rows: readonly CostRow[], totals: CostTotals): string {
  const header = [
    "service",
    "operation",
    "calls",
    "calls/task",
    "WRU",
    "RRU",
    "billed",
    "$",
    "$/M tasks",
    "note",
  ];
  const cells = rows.map((r) => [
    r.service,
    r.operation,
    String(r.calls),
    fixed(r.callsPerTask, 4),
    fixed(r.wru, 1),
    fixed(r.rru, 1),
    r.service === "DynamoDB" ? "-" : String(r.billedRequests),
    fixed(r.dollars, 6),
    fixed(perTask(r.dollars, totals.tasks) * 1_000_000, 4),
    note(r),
  ]);
  const total = [
    "TOTAL",
    `${totals.tasks} tasks`,
    String(totals.calls),
    fixed(totals.callsPerTask, 4),
    fixed(totals.wruPerTask * totals.tasks, 1),
    fixed(totals.rruPerTask * totals.tasks, 1),
    "",
    fixed(totals.dollars, 6),
    fixed(totals.dollarsPerMillionTasks, 4),
    `${fixed(totals.wruPerTask, 3)} WRU/task`,
  ];
  const table = [header, ...cells, total];
  const widths = header.map((_, col) => Math.max(...table.map((line) => (line[col] ?? "").length)));
  const numeric = (col: number) => col >= 2 && col <= 8;
  const render = (line: string[]) =>
    line
      .map((cell, col) => (numeric(col) ? cell.padStart(widths[col]!) : cell.padEnd(widths[col]!)))
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  const hot =
    totals.hottestKey === null
      ? "max writes per key: 0"
      : `max writes per key: ${totals.maxWritesPerKey} (${totals.hottestKey})`;
  return [render(header), rule, ...cells.map(render), rule, render(total), hot].join("\n");
}
