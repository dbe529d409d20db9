/**
 * A session's tasks, filtered by status, in index order or slowest first. Both read a bounded
 * amount per call: the index walk reads the chunk records of at most TASK_LIST_GROUPS_PER_CALL
 * key groups and says where to go on; the slowest ranking reads at most SLOWEST_ENTRY_READS
 * completion entries (where each run's duration is kept) and says whether that was all of them.
 */
import { viewTask } from "../engine/completions.ts";
import { groupOf, groupStart } from "../engine/keys.ts";
import { ValidationError } from "../errors.ts";
import type { ChunkRecord, SessionKey, TaskError, TaskOutcome } from "../model/records.ts";
import { isTerminalStatus, type TaskStatus } from "../model/status.ts";
import { mapLimit } from "../util.ts";
import { chunkOutcomes } from "./chunk-outcomes.ts";
import type { GridPorts } from "./grid-ports.ts";
import { getSession } from "./sessions.ts";

/** Most key groups (4,096 task indexes each) one index-order call reads. */
export const TASK_LIST_GROUPS_PER_CALL = 16;
/** Most completion entries one slowest-first call reads. */
export const SLOWEST_ENTRY_READS = 1_000;
/** Completion entries read per query. */
const ENTRY_PAGE = 250;

/** One task in a list. */
export interface TaskSummary {
  taskId: string;
  status: TaskStatus;
  /** Attempts charged so far. */
  attempt: number;
  handler?: string | undefined;
  error?: TaskError | undefined;
  /** When its outcome was committed (finished tasks). */
  finishedAt?: number | undefined;
  /** How long its last run took, by its worker's clock (finished tasks that ran). */
  durationMs?: number | undefined;
}

/** A page of tasks. */
export interface TaskListPage {
  tasks: TaskSummary[];
  /** Index order: pass back as `after` to go on; absent when the session has no more. */
  next?: string | undefined;
  /** False when a slowest-first ranking came from part of the session's finished tasks. */
  complete: boolean;
}

/** Options of a task list. */
export interface TaskListOptions {
  status?: TaskStatus | undefined;
  order: "index" | "slowest";
  limit: number;
  /** Index order: the first task index to look at (a previous page's `next`). */
  after?: number | undefined;
}

function summaryOf(o: TaskOutcome, handler: string | undefined, committedAt: number): TaskSummary {
  return {
    taskId: String(o.index),
    status: o.status,
    attempt: o.attempt,
    handler,
    error: o.error,
    finishedAt: committedAt,
    durationMs: o.ms,
  };
}

/** Lists a session's tasks (another tenant's session is not found). */
export async function listTasks(
  ports: GridPorts,
  key: SessionKey,
  options: TaskListOptions,
): Promise<TaskListPage> {
  await getSession(ports, key);
  if (options.order === "slowest") {
    if (options.status !== undefined && !isTerminalStatus(options.status))
      throw new ValidationError(
        "order",
        "slowest ranks finished tasks: use it with SUCCEEDED, FAILED or CANCELLED",
      );
    return slowest(ports, key, options);
  }
  return byIndex(ports, key, options);
}

async function byIndex(ports: GridPorts, key: SessionKey, options: TaskListOptions): Promise<TaskListPage> {
  const from = options.after ?? 0;
  const first = groupOf(from);
  const directory = await ports.store.listGroups(
    key,
    first === 0 ? undefined : first - 1,
    TASK_LIST_GROUPS_PER_CALL,
  );
  const now = ports.clock.now();
  const picked: { chunk: ChunkRecord; index: number }[] = [];
  let next: number | undefined;
  walk: for (const group of directory.groups) {
    const chunks =
      group === first
        ? await ports.store.listChunksIn(key, group, from, groupStart(group + 1))
        : await ports.store.listChunks(key, group);
    for (const chunk of chunks) {
      for (let index = Math.max(from, chunk.start); index < chunk.start + chunk.count; index++) {
        if (options.status !== undefined && viewTask(chunk, index, now).status !== options.status) continue;
        picked.push({ chunk, index });
        if (picked.length === options.limit) {
          next = index + 1;
          break walk;
        }
      }
    }
  }
  if (next === undefined && directory.next !== undefined) next = groupStart(directory.next + 1);
  const tasks = await describe(ports, picked, now);
  return { tasks, next: next === undefined ? undefined : String(next), complete: true };
}

/** Views of picked tasks, with the outcomes of the finished ones (one read per chunk, mostly). */
async function describe(
  ports: GridPorts,
  picked: { chunk: ChunkRecord; index: number }[],
  now: number,
): Promise<TaskSummary[]> {
  const views = picked.map(({ chunk, index }) => ({ chunk, view: viewTask(chunk, index, now) }));
  const finished = new Map<ChunkRecord, Set<number>>();
  for (const { chunk, view } of views)
    if (isTerminalStatus(view.status)) {
      const set = finished.get(chunk) ?? new Set<number>();
      set.add(view.index);
      finished.set(chunk, set);
    }
  const found = new Map<number, { outcome: TaskOutcome; committedAt: number }>();
  await mapLimit([...finished], 8, async ([chunk, indexes]) => {
    for (const [i, f] of await chunkOutcomes(ports, chunk, indexes)) found.set(i, f);
  });
  return views.map(({ view }) => {
    const f = found.get(view.index);
    return f
      ? summaryOf(f.outcome, view.handler, f.committedAt)
      : { taskId: view.taskId, status: view.status, attempt: view.attempt, handler: view.handler };
  });
}

/**
 * The slowest finished tasks (by their last run's duration) among the completion entries of the
 * session's groups, read in group order until SLOWEST_ENTRY_READS. A task whose outcome was not
 * run by a worker (cancelled while queued, failed by the reaper) has no duration and is left out.
 */
async function slowest(ports: GridPorts, key: SessionKey, options: TaskListOptions): Promise<TaskListPage> {
  const top: TaskSummary[] = [];
  let budget = SLOWEST_ENTRY_READS;
  let complete = true;
  let groupsAfter: number | undefined;
  directory: for (;;) {
    const page = await ports.store.listGroups(key, groupsAfter, 64);
    for (const group of page.groups) {
      let after: string | undefined;
      do {
        if (budget <= 0) {
          complete = false;
          break directory;
        }
        const read = await ports.store.readCompletions(key, group, after, Math.min(ENTRY_PAGE, budget));
        budget -= read.entries.length;
        for (const entry of read.entries)
          for (const o of entry.outcomes) {
            if (o.ms === undefined || (options.status !== undefined && o.status !== options.status)) continue;
            top.push(summaryOf(o, undefined, entry.committedAt));
          }
        // Keep the list short as it grows: only the slowest `limit` can be returned.
        if (top.length > 4 * options.limit) trim(top, options.limit);
        after = read.next;
      } while (after !== undefined);
    }
    if (page.next === undefined || page.groups.length === 0) break;
    groupsAfter = page.next;
  }
  trim(top, options.limit);
  await nameHandlers(ports, key, top);
  return { tasks: top, complete };
}

function trim(tasks: TaskSummary[], limit: number): void {
  tasks.sort((a, b) => (b.durationMs ?? 0) - (a.durationMs ?? 0) || Number(a.taskId) - Number(b.taskId));
  tasks.length = Math.min(tasks.length, limit);
}

/** Fills in the handler of listed tasks from their chunks (one read per chunk). */
async function nameHandlers(ports: GridPorts, key: SessionKey, tasks: TaskSummary[]): Promise<void> {
  const chunks = await mapLimit(tasks, 8, (t) => ports.store.findChunk(key, Number(t.taskId)));
  tasks.forEach((t, i) => {
    t.handler = chunks[i]?.handler;
  });
}
