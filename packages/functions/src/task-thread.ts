/**
 * The code of one isolated task thread (see isolated-runner.ts): it loads the task modules once
 * and runs the tasks it is handed. The dispatcher stops a task by stopping its thread, so no
 * signal reaches the task's code here: a task that spins the CPU is ended all the same.
 */
import { pathToFileURL } from "node:url";
import { workerData } from "node:worker_threads";
import type { TaskContext } from "@tessera/core";
import { yieldToDispatcher } from "./isolated-runner.ts";
import { collectTasks, taskRunner } from "./task-definition.ts";

yieldToDispatcher();

const { modules, defaultTask } = workerData as { modules: string[]; defaultTask?: string };
const loaded = await Promise.all(
  modules.map((m) => import(pathToFileURL(m).href) as Promise<Record<string, unknown>>),
);
const run = taskRunner(collectTasks(...loaded), { defaultTask });
const never = new AbortController().signal;

/** Runs one task in this thread. */
export default function runTask(task: Omit<TaskContext, "signal">): Promise<string | undefined> {
  return run({ ...task, signal: never });
}
