/**
 * The local grid's warm-worker pools (`workerPools`, docs/worker-protocol.md): the agent process
 * each one gets, and what the grid learns from it — the handlers its workers serve, which the
 * API's handler catalogue then checks submits against.
 */
import { delimiter } from "node:path";
import { fileURLToPath } from "node:url";

/** What one supervised agent process of the grid runs. */
export interface AgentSpec {
  /** Its name in the grid's lines and its log file (`logs/<name>.log`). */
  name: string;
  /** Its flags, but for the grace period the grid gives every agent. */
  args: string[];
  /** Added to its environment. */
  env?: Record<string, string>;
  /** A line of its stdout that is not a task log entry. */
  onLine?: (line: string) => void;
}

/** The Python package's source: `python3 -m tessera.worker` imports it from here. */
const PYTHON_SRC = fileURLToPath(new URL("../../python/src", import.meta.url));

/**
 * The agent of the warm-worker pool `pool`: `tessera-agent --worker <command>`, its workers able
 * to import `tessera`; `onHandlers` gets the handlers they serve once they are ready.
 */
export function warmAgentSpec(
  pool: string,
  worker: { command: string; concurrency: number },
  onHandlers: (handlers: string[]) => void,
): AgentSpec {
  return {
    name: `worker-agent-${pool}`,
    args: ["--worker", worker.command, "--pools", pool, "--concurrency", String(worker.concurrency)],
    env: { PYTHONPATH: [PYTHON_SRC, process.env.PYTHONPATH].filter(Boolean).join(delimiter) },
    onLine: (line) => {
      const handlers = workersReady(line);
      if (handlers) onHandlers(handlers);
    },
  };
}

/** The handlers of the agent's "worker processes ready" line, or undefined for any other line. */
function workersReady(line: string): string[] | undefined {
  if (!line.includes('"worker processes ready"')) return undefined;
  try {
    const value = JSON.parse(line) as { message?: unknown; handlers?: unknown };
    if (value.message !== "worker processes ready" || !Array.isArray(value.handlers)) return undefined;
    return value.handlers.filter((h): h is string => typeof h === "string");
  } catch {
    return undefined;
  }
}
