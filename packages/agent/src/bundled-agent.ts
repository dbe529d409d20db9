/**
 * The bundled agent's entry (scripts/build-agent.ts generates the module that calls it): the
 * agent with its task modules built in, one file that needs nothing installed but piscina. Its
 * task threads load that same file: there, the call returns the thread's task function (which
 * the entry exports) instead of starting an agent.
 */
import { isMainThread } from "node:worker_threads";
import { collectTasks, entryThreadTask } from "@tessera/task";
import { startAgentCli } from "./agent-cli.ts";

/**
 * In the main thread: starts the agent's command line with `modules` as its tasks, run in
 * threads that load `entry` (the calling module's `import.meta.url`) and call its export
 * `exportName`; returns undefined. In a task thread: returns the task function the entry must
 * export under `exportName`.
 */
export function startBundledAgent(
  modules: Record<string, unknown>[],
  isolate: { entry: string; exportName: string },
): unknown {
  if (isMainThread) {
    startAgentCli({ modules, ...isolate });
    return undefined;
  }
  // The grid's clients belong to the main thread: a task thread only runs the tasks.
  return entryThreadTask(collectTasks(...modules));
}
