/**
 * `npm run bench:workers -- --tasks N --commandTasks M --concurrency C`: what a warm worker saves.
 * One agent (C tasks at a time, an in-memory grid, so that the runner's cost is what differs)
 * runs N no-op Python tasks through `--worker` (C warm `python3 -m tessera.worker` processes),
 * M through `--command` (one python3 process per task: M is smaller, the rate is per second and
 * so comparable), and N as a TypeScript defineTask in the agent's task threads (its default).
 * Prints tasks/s of each and the ratios; the last line is JSON.
 */
import { execFileSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { createSession, ResultsReader, submitTasks, type TaskRunner } from "@tessera/core";
import { realtimeMemoryGrid } from "@tessera/core/testing";
import { isolatedTaskRunner, workerPool } from "@tessera/task";
import { numberFlags } from "../../core/bench/args.ts";
import { Agent } from "../src/agent.ts";
import { commandRunner } from "../src/command-runner.ts";

const { tasks, commandTasks, concurrency } = numberFlags({
  tasks: 10_000,
  commandTasks: 300,
  concurrency: 4,
});
const here = (path: string) => new URL(path, import.meta.url).pathname;
// The interpreter itself, not a launcher on the PATH (pyenv's shim is a shell script that would
// add its own start to every --command task).
const python = execFileSync("python3", ["-c", "import sys; print(sys.executable)"], {
  encoding: "utf8",
}).trim();

/** Tasks per second for `count` no-op tasks run by one agent over `runner`. */
async function tasksPerSecond(
  name: string,
  count: number,
  runner: TaskRunner,
  runnerCapacity?: () => number,
): Promise<number> {
  const ports = realtimeMemoryGrid();
  const key = { tenant: "bench", sessionId: name };
  await createSession(ports, "bench", { sessionId: name });
  for (let start = 0; start < count; start += 10_000) {
    const size = Math.min(10_000, count - start);
    await submitTasks(ports, key, {
      handler: "noop",
      tasks: Array.from({ length: size }, (_, i) => ({ index: start + i, payload: "{}" })),
    });
  }
  const agent = new Agent({ ports, runner, runnerCapacity, concurrency, idleWaitSeconds: 1 });
  const reader = new ResultsReader(ports, key);
  const t0 = performance.now();
  void agent.run();
  let done = 0;
  while (done < count) {
    for (const outcome of await reader.poll()) {
      if (outcome.status !== "SUCCEEDED")
        throw new Error(`${name}: task ${outcome.index} ${outcome.status}: ${outcome.error?.message}`);
      done++;
    }
    if (done < count) await new Promise((r) => setTimeout(r, 10));
  }
  const seconds = (performance.now() - t0) / 1_000;
  await agent.stop();
  const rate = count / seconds;
  console.log(
    `  ${name.padEnd(11)} ${String(count).padStart(6)} tasks in ${seconds.toFixed(2)} s: ${rate.toFixed(1)} tasks/s`,
  );
  return rate;
}

/** Runs 200 tasks on the runner directly, 4 at a time. */
async function warmUp(run: TaskRunner): Promise<void> {
  const signal = new AbortController().signal;
  for (let i = 0; i < 200; i += 4)
    await Promise.all(
      [0, 1, 2, 3].map((j) =>
        run({
          tenant: "bench",
          sessionId: "warm-up",
          taskId: String(i + j),
          index: i + j,
          attempt: 1,
          maxAttempts: 1,
          handler: "noop",
          payload: "{}",
          signal,
        }),
      ),
    );
}

console.log(
  `no-op tasks on one agent, ${concurrency} at a time (in-memory grid), ${python}; ${cpus().length} CPUs, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
);
const pool = workerPool({
  command: python,
  args: ["-m", "tessera.worker", here("./noop_worker.py")],
  env: { PYTHONPATH: here("../../python/src"), PYTHONDONTWRITEBYTECODE: "1" },
  processes: concurrency,
});
const threads = isolatedTaskRunner([here("./noop-task.ts")], { threads: concurrency });
try {
  await pool.ready();
  await threads.ready();
  // Warm both up (the threads load the task module after ready(), which would steal the CPU
  // from the first measurement).
  await warmUp(pool.run);
  await warmUp(threads.run);
  const worker = await tasksPerSecond("--worker", tasks, pool.run, pool.capacity);
  const command = await tasksPerSecond(
    "--command",
    commandTasks,
    commandRunner({ command: python, args: ["-c", "import sys; sys.stdout.write(sys.stdin.read())"] }),
  );
  console.log(
    `  (--command ran ${commandTasks} tasks, not ${tasks}: its rate is per second, so it compares)`,
  );
  const typescript = await tasksPerSecond("typescript", tasks, threads.run, threads.capacity);
  const figures = {
    tasks,
    commandTasks,
    concurrency,
    workerTasksPerSecond: Math.round(worker),
    commandTasksPerSecond: Number(command.toFixed(1)),
    typescriptTasksPerSecond: Math.round(typescript),
    workerVsCommand: Number((worker / command).toFixed(1)),
    workerVsTypescript: Number((worker / typescript).toFixed(2)),
    loadAverage1m: Number(loadavg()[0]!.toFixed(2)),
  };
  console.log(
    `  --worker is ${figures.workerVsCommand}× --command, and ${figures.workerVsTypescript}× a TypeScript task`,
  );
  console.log(JSON.stringify(figures));
} finally {
  await pool.close();
  await threads.close();
}
