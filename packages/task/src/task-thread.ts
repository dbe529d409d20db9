/**
 * The code of one isolated task thread (see isolated-runner.ts): it loads the task modules once
 * and runs the tasks it is handed, each with an AbortSignal that fires when the pool announces
 * the run's abort. A task that does not stop is stopped with its thread.
 */
import { pathToFileURL } from "node:url";
import { workerData } from "node:worker_threads";
import { threadLogOptions, threadTaskFunction, yieldToDispatcher } from "./isolated-runner.ts";
import { collectTasks, taskRunner } from "./task-definition.ts";

yieldToDispatcher();

const { modules, defaultTask } = workerData as { modules: string[]; defaultTask?: string };
const loaded = await Promise.all(
  modules.map((m) => import(pathToFileURL(m).href) as Promise<Record<string, unknown>>),
);

/** Runs one task in this thread. */
export default threadTaskFunction(
  taskRunner(collectTasks(...loaded), { defaultTask, ...threadLogOptions() }),
);
