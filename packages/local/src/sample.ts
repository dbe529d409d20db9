/**
 * The sample workload `npm start` runs: a session of echo tasks submitted over the HTTP API,
 * closed, and streamed back through the results endpoint, with a progress bar.
 */
import cliProgress from "cli-progress";

/** What the sample measured. */
export interface SampleReport {
  sessionId: string;
  tasks: number;
  succeeded: number;
  failed: number;
  seconds: number;
  tasksPerSecond: number;
}

async function call<T = unknown>(
  apiUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const response = await fetch(`${apiUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await response.json()) as T & { error?: { message?: string } };
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${json.error?.message ?? ""}`);
  return json;
}

/** Runs `tasks` echo tasks through the grid at `apiUrl`; `progress` draws a bar when true. */
export async function runSample(
  apiUrl: string,
  token: string,
  tasks: number,
  options: {
    progress?: boolean;
    timeoutMs?: number;
    /** The pool the session runs on. @default the grid's default */
    pool?: string;
    /** @default "echo" */
    handler?: string;
    /** Task `i`'s input. @default `{ n: i }` */
    input?: (i: number) => unknown;
    /** Session id prefix. @default "sample" */
    name?: string;
  } = {},
): Promise<SampleReport> {
  const sessionId = `${options.name ?? "sample"}-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  const input = options.input ?? ((n: number) => ({ n }));
  const started = Date.now();
  await call(apiUrl, token, "POST", "/sessions", {
    sessionId,
    tags: { source: "npm-start" },
    // On an agent pool, one task per ticket: the backlog the scaler sees is the task count.
    ...(options.pool ? { config: { pool: options.pool, chunkMaxTasks: 1 } } : {}),
  });
  for (let start = 0; start < tasks; start += 5_000) {
    const batch = Array.from({ length: Math.min(5_000, tasks - start) }, (_, i) => ({
      index: start + i,
      payload: JSON.stringify(input(start + i)),
    }));
    await call(apiUrl, token, "POST", `/sessions/${sessionId}/tasks`, {
      handler: options.handler ?? "echo",
      tasks: batch,
    });
  }
  await call(apiUrl, token, "POST", `/sessions/${sessionId}/close`);

  const bar = options.progress
    ? new cliProgress.SingleBar(
        {
          format: `  ${options.name ?? "sample"}  {bar} {value}/{total} tasks  {rate} tasks/s  eta {eta_formatted}`,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(tasks, 0, { rate: 0 });
  const seen = new Set<string>();
  let failed = 0;
  let cursor: string | undefined;
  const deadline = Date.now() + (options.timeoutMs ?? 10 * 60_000);
  while (seen.size < tasks) {
    if (Date.now() > deadline)
      throw new Error(`sample: only ${seen.size} of ${tasks} results after the timeout`);
    const query = cursor ? `?cursor=${encodeURIComponent(cursor)}` : "";
    const page = await call<{ results: { taskId: string; status: string }[]; cursor: string }>(
      apiUrl,
      token,
      "GET",
      `/sessions/${sessionId}/results${query}`,
    );
    for (const r of page.results) {
      if (seen.has(r.taskId)) continue;
      seen.add(r.taskId);
      if (r.status !== "SUCCEEDED") failed++;
    }
    cursor = page.cursor;
    const seconds = (Date.now() - started) / 1000;
    bar?.update(seen.size, { rate: Math.round(seen.size / Math.max(seconds, 0.001)) });
    if (page.results.length === 0) await new Promise((r) => setTimeout(r, 100));
  }
  bar?.stop();
  const seconds = (Date.now() - started) / 1000;
  return {
    sessionId,
    tasks,
    succeeded: seen.size - failed,
    failed,
    seconds,
    tasksPerSecond: Math.round(tasks / seconds),
  };
}
