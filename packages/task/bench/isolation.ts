/**
 * `npm run bench:isolation -- --tasks N --concurrency C`: what running task code in worker
 * threads costs per task. N no-op tasks (`square`) run C at a time through the in-process task
 * runner and through the isolated runner (C warm threads, as an agent keeps one per slot); the
 * difference per task is the isolation's overhead. The last line is JSON.
 */
import type { TaskRunner } from "@tessera/core";
import { numberFlags } from "../../core/bench/args.ts";
import { isolatedTaskRunner } from "../src/isolated-runner.ts";
import { collectTasks, taskRunner } from "../src/task-definition.ts";
import * as fixtures from "../test/fixtures/stubborn-tasks.ts";

const { tasks, concurrency } = numberFlags({ tasks: 50_000, concurrency: 4 });
const never = new AbortController().signal;

/** Microseconds per task for `tasks` runs, `concurrency` at a time. */
async function perTaskMicros(run: TaskRunner, count: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < count; i = next++) {
        await run({
          tenant: "bench",
          sessionId: "isolation",
          taskId: String(i),
          index: i,
          attempt: 1,
          maxAttempts: 1,
          handler: "square",
          payload: `{"x":${i}}`,
          signal: never,
        });
      }
    }),
  );
  return ((performance.now() - t0) * 1_000) / count;
}

const inProcess = taskRunner(collectTasks(fixtures));
const isolated = isolatedTaskRunner(
  [new URL("../test/fixtures/stubborn-tasks.ts", import.meta.url).pathname],
  {
    threads: concurrency,
  },
);
try {
  await perTaskMicros(isolated.run, Math.min(tasks, 2_000)); // warm up both
  await perTaskMicros(inProcess, Math.min(tasks, 2_000));
  const inProcessUs = await perTaskMicros(inProcess, tasks);
  const isolatedUs = await perTaskMicros(isolated.run, tasks);
  const figures = {
    tasks,
    concurrency,
    inProcessUsPerTask: Number(inProcessUs.toFixed(1)),
    isolatedUsPerTask: Number(isolatedUs.toFixed(1)),
    overheadUsPerTask: Number((isolatedUs - inProcessUs).toFixed(1)),
  };
  console.log(`${tasks} no-op tasks, ${concurrency} at a time`);
  console.log(
    `  in-process ${figures.inProcessUsPerTask} µs/task, in threads ${figures.isolatedUsPerTask} µs/task`,
  );
  console.log(JSON.stringify(figures));
} finally {
  await isolated.close();
}
