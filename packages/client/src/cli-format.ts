/**
 * What the `tessera` CLI prints for people: counts, costs, tables, the progress bar's eta, the
 * failures of a session and the way back from an interrupted submit. Pure functions, no I/O,
 * so each is tested without a grid.
 */
import type { FailureSummary } from "./failure-summary.ts";
import type { SessionCost, SessionStatus } from "./types.ts";

/** `30 tasks: 28 succeeded, 2 failed, …`. */
export function describeCounts(s: SessionStatus): string {
  const c = s.counts;
  return `${c.total} tasks: ${c.succeeded} succeeded, ${c.failed} failed, ${c.cancelled} cancelled, ${c.running} running, ${c.queued} queued`;
}

/** `$0.000123 for 1,234 AWS requests, 5.6 Lambda GB-s, 0 agent-s`. */
export function describeCost(c: SessionCost): string {
  const parts = [`${c.requests.toLocaleString("en", { maximumFractionDigits: 0 })} AWS requests`];
  if (c.lambdaGbSeconds > 0) parts.push(`${c.lambdaGbSeconds.toFixed(1)} Lambda GB-s`);
  if (c.agentSeconds > 0) parts.push(`${c.agentSeconds.toFixed(0)} agent-s`);
  return `${dollars(c.dollars)} for ${parts.join(", ")}`;
}

function dollars(n: number): string {
  return n >= 0.01 ? `$${n.toFixed(2)}` : `$${n.toPrecision(3)}`;
}

/**
 * Rows as columns two spaces apart, each as wide as its widest cell (ids of up to 64
 * characters would overrun a fixed width); `right` lists the columns aligned to the right.
 * Trailing spaces are trimmed.
 */
export function formatTable(rows: string[][], right: number[] = []): string[] {
  const widths: number[] = [];
  for (const row of rows)
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  return rows.map((row) =>
    row
      .map((cell, i) => (right.includes(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd(),
  );
}

/** The cost breakdown as a table. */
export function formatCost(sessionId: string, c: SessionCost): string {
  const rows = c.lines.map((l) => [
    l.service,
    l.item,
    `${l.quantity.toLocaleString("en", { maximumFractionDigits: 2 })} ${l.unit}`,
    l.priced ? dollars(l.dollars) : "no price",
  ]);
  return [
    `${sessionId}: ${describeCost(c)}`,
    ...formatTable([["service", "item", "quantity", "cost"], ...rows], [3]),
    `prices: ${c.prices.region}, taken ${c.prices.takenOn} (${c.prices.source}); requests the client made directly (presigned uploads and downloads) are not included`,
  ].join("\n");
}

/**
 * Time left at the rate seen so far: `--` while there is no rate yet (nothing finished since
 * the watch began), so the first frame shows no made-up figure; else `45s`, `12m05s`, `3h07m`.
 */
export function formatEta(remaining: number, perSecond: number): string {
  if (!(perSecond > 0) || !Number.isFinite(perSecond)) return "--";
  const s = Math.ceil(remaining / perSecond);
  if (s < 60) return `${s}s`;
  const two = (n: number) => String(n).padStart(2, "0");
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  return `${Math.floor(s / 3600)}h${two(Math.floor((s % 3600) / 60))}m`;
}

/** A failure summary for people: one block per error code, most frequent first. */
export function formatFailures(sessionId: string, summary: FailureSummary): string[] {
  if (summary.byCode.length === 0) return [];
  const lines = [`failed or cancelled tasks by error code:`];
  for (const group of summary.byCode) {
    lines.push(`  ${group.code}: ${group.count} task${group.count === 1 ? "" : "s"}`);
    for (const e of group.examples)
      lines.push(`    task ${e.taskId} (${e.status}, attempt ${e.attempt}): ${firstLine(e.message)}`);
    const more = group.count - group.examples.length;
    if (more > 0) lines.push(`    … and ${more} more`);
  }
  lines.push(`every one: tessera results ${sessionId} | grep '"error"'`);
  const failed = summary.byCode.flatMap((g) => g.examples).find((e) => e.status === "FAILED");
  if (failed) lines.push(`what a task logged: ${logsCommand(sessionId, failed.index)}`);
  return lines;
}

/** A message's first line, at most 200 characters (stack traces and long dumps stay out). */
function firstLine(message: string): string {
  const line = message.split("\n", 1)[0] ?? "";
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

/** The command that prints what a task logged: the hint a failed task's line carries. */
export function logsCommand(sessionId: string, index: number): string {
  return `tessera logs ${shellQuote(sessionId)} --task ${index}`;
}

/** `word` quoted for a POSIX shell when it needs it. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command line that resumes an interrupted submit: the same arguments, with
 * `--resume-from` set to the first index not known to be stored.
 */
export function resumeCommand(args: readonly string[], nextIndex: number): string {
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--resume-from") i++;
    // A token given on the command line is not printed back (terminals and CI logs keep it).
    else if (args[i] === "--token") i++;
    else if (!args[i]!.startsWith("--token=") && !args[i]!.startsWith("--resume-from=")) kept.push(args[i]!);
  }
  return ["tessera", ...kept, "--resume-from", String(nextIndex)].map(shellQuote).join(" ");
}

/** Whether `args` give a token on the command line (which resumeCommand leaves out). */
export function givesToken(args: readonly string[]): boolean {
  return args.some((a) => a === "--token" || a.startsWith("--token="));
}

/**
 * What an interrupted submit stored and the way on: the tasks from `first` below `nextIndex`
 * were accepted (from the API's answers; requests cut short may have stored some after them,
 * which a resume finds already there), the session is still open.
 */
export function describeInterruptedSubmit(
  sessionId: string,
  args: readonly string[],
  progress: { first: number; nextIndex: number; fromStdin: boolean },
): string[] {
  const { first, nextIndex } = progress;
  const stored =
    nextIndex > first
      ? `tasks ${first}..${nextIndex - 1} are stored (the API accepted them)`
      : `no task of this submit is known to be stored`;
  return [
    `tessera: submit interrupted: ${stored}; session ${sessionId} is still OPEN.`,
    `  resume${progress.fromStdin ? " (feed it the same input)" : ""}${givesToken(args) ? " (with your --token: it is not printed)" : ""}: ${resumeCommand(args, nextIndex)}`,
    `  or close it with what it has: ${["tessera", "close", sessionId].map(shellQuote).join(" ")}`,
  ];
}
