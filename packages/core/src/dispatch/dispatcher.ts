import { byteLength } from "../engine/chunking.ts";
import type { SlotResult } from "../engine/transitions.ts";
import { Limits } from "../model/limits.ts";
import type { CompletionEntry } from "../model/records.ts";
import { decodeTicket, encodeTicket } from "../model/ticket.ts";
import type { ReceivedTicket } from "../ports/ticket-queue.ts";
import { claimTickets, isOwnWrite, type WonClaim } from "./claim.ts";
import { commitLease } from "./commit.ts";
import type { GridPorts } from "./grid-ports.ts";
import { AbortReason, type HeldLease, leaseId, loseLease, type TaskRun } from "./held-lease.ts";
import { heartbeat, watchCancels } from "./lease-keeper.ts";
import { type LoadedPayloads, loadPayloads, UNREADABLE_RETRY_MS } from "./payloads.ts";
import { Semaphore } from "./semaphore.ts";
import { taskFailureCode } from "./task-failure.ts";
import { type AckMode, TicketAcker } from "./ticket-acker.ts";

/** The result of a run given back unfinished by a worker that is shutting down. */
const RELEASED: SlotResult = {
  ok: false,
  released: true,
  error: { code: "RELEASED", message: "released by a worker shutting down" },
};

/** The result of a run of a careful claim whose answer came too late for it to start at once. */
const LEARNED_LATE: SlotResult = {
  ok: false,
  released: true,
  error: { code: "RELEASED", message: "claim learned too late to start at once" },
};

/** Longest error message recorded for a task. */
const MAX_ERROR_CHARS = 1_000;

/**
 * How long a run may take to stop after its abort (a cancel, a lost lease, a deadline) before
 * the dispatcher stops waiting for it: a task that ignores its signal must not hold its chunk,
 * its slot or its session forever. Its promise is left behind and its result dropped (code that
 * spins the CPU needs isolation to be stopped, not just abandoned).
 */
export const ABANDON_GRACE_MS = 500;

/**
 * One sweep of the running tasks (every heartbeat): a run past its chunk's timeout is aborted
 * (TIMEOUT), and a run still going ABANDON_GRACE_MS after it was seen aborted is abandoned.
 */
export function sweepRuns(leases: Iterable<HeldLease>, now: number): void {
  for (const lease of leases) {
    for (const run of lease.runs.values()) {
      if (run.result || run.startedAt === undefined) continue;
      if (!run.controller.signal.aborted && now - run.startedAt >= lease.chunk.timeoutMs)
        run.controller.abort(AbortReason.TIMEOUT);
      if (!run.controller.signal.aborted) continue;
      run.abortSeenAt ??= now;
      if (now - run.abortSeenAt >= ABANDON_GRACE_MS) {
        run.abandon?.(
          new Error(
            `the task did not stop within ${ABANDON_GRACE_MS} ms of its abort (${String(run.controller.signal.reason)}); abandoned`,
          ),
        );
      }
    }
  }
}

/** What a task handler receives. */
export interface TaskContext {
  tenant: string;
  sessionId: string;
  taskId: string;
  index: number;
  /** This run's attempt number (1-based). */
  attempt: number;
  maxAttempts: number;
  handler?: string | undefined;
  payload: string | null;
  /** Aborted when the task is cancelled, its lease is lost, or the worker must stop. */
  signal: AbortSignal;
}

/** Runs one task; its return value is the result, a throw is a failure. */
export type TaskRunner = (task: TaskContext) => Promise<string | undefined>;

/** Observation points (metrics, logs, simulation audits). */
export interface DispatcherHooks {
  /** A lease was granted: its runs are about to start. */
  onClaim?(lease: HeldLease): void;
  onTaskStart?(lease: HeldLease, run: TaskRun): void;
  /** A task's run ended: it returned, threw, or was abandoned after ignoring its abort. */
  onTaskEnd?(lease: HeldLease, run: TaskRun): void;
  onCommit?(lease: HeldLease, entry: CompletionEntry | undefined): void;
  onLeaseLost?(lease: HeldLease): void;
  /**
   * A claim whose write got no answer was given up before this worker could learn whether it
   * landed (its lease ended, or the worker stopped): if it did, its runs never started.
   */
  onClaimForgotten?(claim: WonClaim): void;
}

/** Settings of a dispatcher. */
export interface DispatcherOptions {
  /** Unique id of this worker process: lease owner. */
  owner: string;
  runner: TaskRunner;
  /** Tasks run at once. @default 8 */
  concurrency?: number;
  /**
   * How many tasks the runner would start at once (e.g. task threads booted and idle): a claim
   * that charges its runs an attempt takes no more than this. @default unlimited
   */
  runnerCapacity?: () => number;
  /** @default "delete" */
  ackMode?: AckMode;
  hooks?: DispatcherHooks;
}

/**
 * The dispatch core shared by Lambda workers and agents: claim → run → commit → ack.
 * Tickets are claimed in batches, tasks run under a concurrency limit, each chunk commits once
 * its runs finish, and acknowledgements are batched. `heartbeat()` keeps long leases alive.
 */
export class Dispatcher {
  readonly #ports: GridPorts;
  readonly #owner: string;
  readonly #runner: TaskRunner;
  readonly #hooks: DispatcherHooks;
  readonly #slots: Semaphore;
  readonly #concurrency: number;
  readonly #runnerCapacity: () => number;
  readonly #leases = new Map<string, HeldLease>();
  /** Chunks an accept() is claiming right now (held as far as other tickets are concerned). */
  readonly #claiming = new Set<string>();
  /** Claims whose write got no answer and could not be read back yet (see heartbeat). */
  #unanswered: WonClaim[] = [];
  readonly #done = new Map<string, Promise<void>>();
  readonly acker: TicketAcker;
  #dead = false;
  #stopping = false;

  constructor(ports: GridPorts, options: DispatcherOptions) {
    this.#ports = ports;
    this.#owner = options.owner;
    this.#runner = options.runner;
    this.#hooks = options.hooks ?? {};
    this.#concurrency = options.concurrency ?? 8;
    this.#runnerCapacity = options.runnerCapacity ?? (() => Number.POSITIVE_INFINITY);
    this.#slots = new Semaphore(this.#concurrency);
    this.acker = new TicketAcker(ports.queue, ports.clock, options.ackMode ?? "delete");
  }

  /** Lease owner id. */
  get owner(): string {
    return this.#owner;
  }

  /** Chunks currently held. */
  get heldLeases(): number {
    return this.#leases.size;
  }

  /** Runs held that have not started yet (waiting for a task slot or for their payloads). */
  get waitingRuns(): number {
    let waiting = 0;
    for (const lease of this.#leases.values())
      for (const run of lease.runs.values()) if (!run.result && run.startedAt === undefined) waiting++;
    return waiting;
  }

  /** Task slots free once the runs held have started: what a new claim could start at once. */
  get startable(): number {
    let busy = 0;
    let waiting = 0;
    for (const lease of this.#leases.values())
      for (const run of lease.runs.values())
        if (!run.result) {
          busy++;
          if (run.startedAt === undefined) waiting++;
        }
    // The runner's own room counts too: runs already waiting will take it first.
    return Math.max(0, Math.min(this.#concurrency - busy, this.#runnerCapacity() - waiting));
  }

  /**
   * Claims the chunks of received tickets and starts their tasks; resolves once claims are
   * written. `visibilitySeconds`: what the tickets were received with (default: their queue's).
   */
  async accept(
    queue: string,
    tickets: readonly ReceivedTicket[],
    options: { visibilitySeconds?: number } = {},
  ): Promise<string[]> {
    if (this.#dead) return [];
    const ids = tickets.flatMap((t) => {
      const ticket = decodeTicket(t.body);
      return ticket ? [leaseId(ticket)] : [];
    });
    const held = new Set([...this.#leases.keys(), ...this.#claiming]);
    const mine = ids.filter((id) => !held.has(id));
    for (const id of mine) this.#claiming.add(id);
    try {
      const won = await claimTickets(
        this.#ports,
        this.#owner,
        this.acker,
        queue,
        tickets,
        held,
        this.startable,
        (claim) => this.#unanswered.push(claim),
        options.visibilitySeconds,
      );
      if (this.#dead) return [];
      return won.map((claim) => this.#start(claim, claim.giveBack));
    } finally {
      for (const id of mine) this.#claiming.delete(id);
    }
  }

  /**
   * Takes up a won claim: runs its tasks, or with `giveBack` (a careful claim learned too late
   * for its runs to start at once) gives them straight back, their attempts refunded.
   */
  #start(claim: WonClaim, giveBack = false): string {
    const lease: HeldLease = {
      id: leaseId(claim.chunk),
      queue: claim.queue,
      receipt: claim.receipt,
      chunk: claim.chunk,
      fence: claim.chunk.fence,
      runs: new Map(),
      lost: false,
      committing: false,
      claimedAt: this.#ports.clock.now(),
      cancelEpoch: claim.cancelEpoch,
    };
    for (const t of claim.runnable) {
      lease.runs.set(t.slot, {
        slot: t.slot,
        index: t.index,
        attempt: t.attempt,
        controller: new AbortController(),
        cancelRequested: false,
        result: giveBack ? LEARNED_LATE : undefined,
      });
    }
    this.#leases.set(lease.id, lease);
    this.#safeHook(() => this.#hooks.onClaim?.(lease));
    const done: Promise<void> = this.#runLease(lease, claim, giveBack).finally(() => {
      // Unless this worker took the chunk up again meanwhile (a careful lease's leftovers).
      if (this.#leases.get(lease.id) === lease) this.#leases.delete(lease.id);
      if (this.#done.get(lease.id) === done) this.#done.delete(lease.id);
    });
    this.#done.set(lease.id, done);
    return lease.id;
  }

  async #runLease(lease: HeldLease, claim: WonClaim, giveBack: boolean): Promise<void> {
    if (!giveBack) {
      const loaded = claim.payloads ?? (await loadPayloads(this.#ports, lease.chunk, claim.ticket));
      await Promise.all(claim.runnable.map((t) => this.#runTask(lease, lease.runs.get(t.slot)!, loaded)));
    }
    await lease.earlyCommits;
    if (lease.lost || this.#dead) {
      this.#safeHook(() => this.#hooks.onLeaseLost?.(lease));
      return;
    }
    // A careful lease's leftovers are taken up at once by this worker (which holds the ticket),
    // instead of going back to the queue behind whatever backlog it has.
    let again = false;
    const entry = await commitLease(this.#ports, this.#owner, this.acker, lease, {
      onRunnableLeft: () => (again = claim.careful === true && !this.#dead && !this.#stopping),
    });
    if (lease.lost) this.#safeHook(() => this.#hooks.onLeaseLost?.(lease));
    else this.#safeHook(() => this.#hooks.onCommit?.(lease, entry));
    if (again) {
      this.#leases.delete(lease.id);
      await this.accept(
        claim.queue,
        [{ body: encodeTicket(claim.ticket), receipt: claim.receipt, receiveCount: 1 }],
        { visibilitySeconds: 0 },
      ).catch(() => {
        this.acker.retime(claim.queue, claim.receipt, 1); // offered again, as without this
      });
    }
  }

  /**
   * Commits what the lease's finished runs have while others still run: a cancelled task reads
   * CANCELLED within the cancel's bound instead of when its chunk's last run ends. Only cancels
   * call it, so a session nobody cancels pays nothing.
   */
  #commitEarly(lease: HeldLease): void {
    lease.earlyCommits = (lease.earlyCommits ?? Promise.resolve()).then(async () => {
      if (lease.lost || this.#dead || ![...lease.runs.values()].some((r) => !r.result)) return;
      // Best effort: an early commit that cannot land gives up without losing the lease (the
      // lease's final commit writes these results anyway).
      await commitLease(this.#ports, this.#owner, this.acker, lease, { keepOnFailure: true }).catch(
        () => undefined,
      );
    });
  }

  async #runTask(lease: HeldLease, run: TaskRun, loaded: LoadedPayloads): Promise<void> {
    // A run aborted while it waits for a slot (a cancel, a timeout, a shutdown) stops waiting.
    const acquired = await this.#slots.acquire(run.controller.signal);
    if (!acquired) {
      this.#recordNotStarted(run);
      if (run.cancelRequested && run.result) this.#commitEarly(lease);
      return;
    }
    try {
      if (lease.lost || this.#dead) return;
      if (this.#stopping && !run.controller.signal.aborted) {
        // The worker is shutting down: a task that has not started is given back at once.
        run.result = RELEASED;
        return;
      }
      if ("unreadable" in loaded) {
        // The store kept failing: no fault of the task, which is given back and tried later.
        run.result = {
          ok: false,
          released: true,
          retryAfterMs: UNREADABLE_RETRY_MS,
          error: {
            code: "PAYLOAD_UNAVAILABLE",
            message: `payload blob ${lease.chunk.payloadKey} unreadable`,
          },
        };
        return;
      }
      if ("missing" in loaded) {
        run.result = {
          ok: false,
          error: {
            code: "PAYLOAD_UNAVAILABLE",
            message: `payload blob ${lease.chunk.payloadKey} is missing or corrupt`,
          },
        };
        return;
      }
      const { payloads } = loaded;
      if (run.controller.signal.aborted) {
        this.#recordNotStarted(run);
        return;
      }
      const c = lease.chunk;
      this.#safeHook(() => this.#hooks.onTaskStart?.(lease, run));
      // The heartbeat's sweep enforces the task's timeout from here, and abandons a run that
      // ignores its abort (see sweepRuns): no timer or listener per task.
      run.startedAt = this.#ports.clock.now();
      try {
        const work = this.#runner({
          tenant: c.tenant,
          sessionId: c.sessionId,
          taskId: String(run.index),
          index: run.index,
          attempt: run.attempt,
          maxAttempts: c.maxAttempts,
          handler: c.handler,
          payload: payloads[run.slot] ?? null,
          signal: run.controller.signal,
        });
        const result = await new Promise<string | undefined>((resolve, reject) => {
          run.abandon = reject;
          Promise.resolve(work).then(resolve, reject);
        });
        if (result !== undefined && byteLength(result) > Limits.MAX_TASK_BYTES) {
          run.result = {
            ok: false,
            error: { code: "RESULT_TOO_LARGE", message: `result exceeds ${Limits.MAX_TASK_BYTES} bytes` },
            ms: this.#ports.clock.now() - run.startedAt,
          };
        } else {
          run.result = { ok: true, result, ms: this.#ports.clock.now() - run.startedAt };
        }
      } catch (error) {
        // Capped: 64 long messages must not push a completion entry past DynamoDB's 400 KB item limit.
        const full = error instanceof Error ? error.message : String(error);
        const message = full.length > MAX_ERROR_CHARS ? `${full.slice(0, MAX_ERROR_CHARS)}…` : full;
        const reason = run.controller.signal.aborted ? String(run.controller.signal.reason) : undefined;
        if (reason === AbortReason.SHUTDOWN && !run.cancelRequested) {
          // Stopped by a worker shutdown, not by its own fault: given back, retried at once.
          run.result = RELEASED;
          return;
        }
        const code = run.cancelRequested
          ? "CANCELLED"
          : reason === AbortReason.DEADLINE
            ? "DEADLINE"
            : reason === AbortReason.TIMEOUT
              ? "TIMEOUT"
              : (taskFailureCode(error) ?? "HANDLER_ERROR");
        const why =
          code === "TIMEOUT" ? `the task ran past its timeout of ${c.timeoutMs} ms (${message})` : message;
        run.result = {
          ok: false,
          error: { code, message: why },
          cancelled: run.cancelRequested,
          ms: this.#ports.clock.now() - run.startedAt,
        };
      } finally {
        run.abandon = undefined;
        this.#safeHook(() => this.#hooks.onTaskEnd?.(lease, run));
      }
    } finally {
      this.#slots.release();
      if (run.cancelRequested && run.result) this.#commitEarly(lease);
    }
  }

  /**
   * The outcome of a run aborted before it started (a cancel, a deadline, a lost lease, a
   * shutdown): CANCELLED if cancelled, otherwise given back; never charged an attempt.
   */
  #recordNotStarted(run: TaskRun): void {
    run.result = run.cancelRequested
      ? {
          ok: false,
          error: { code: "CANCELLED", message: "task cancelled" },
          cancelled: true,
          released: true,
        }
      : {
          ok: false,
          released: true,
          error: { code: "RELEASED", message: `not started: ${String(run.controller.signal.reason)}` },
        };
  }

  /** Observers must not break the worker: a throwing hook is ignored. */
  #safeHook(call: () => void): void {
    try {
      call();
    } catch {
      // ignored on purpose
    }
  }

  /**
   * One heartbeat pass over the held leases: extends those due, then watches for cancels (see
   * watchCancels). Returns how many leases were extended.
   */
  async heartbeat(): Promise<number> {
    if (this.#dead) return 0;
    const ctx = {
      ports: this.#ports,
      owner: this.#owner,
      acker: this.acker,
      leases: () => this.#leases.values(),
      onLost: (l: HeldLease) => this.#hooks.onLeaseLost?.(l),
    };
    await this.#readBackUnanswered();
    const extended = await heartbeat(ctx);
    if (!this.#dead) await watchCancels(ctx);
    if (!this.#dead) sweepRuns(this.#leases.values(), this.#ports.clock.now());
    return extended;
  }

  /**
   * Claims whose write got no answer may have landed: they are read back, and one that landed is
   * run (this worker holds that lease; left alone, it would expire with its tasks charged for
   * runs that never started). One that cannot be read is tried again next pass, until its lease
   * would have ended.
   */
  async #readBackUnanswered(): Promise<void> {
    if (this.#unanswered.length === 0) return;
    const now = this.#ports.clock.now();
    const claims = this.#unanswered.filter((c) => {
      if (this.#leases.has(leaseId(c.chunk))) return false;
      if ((c.chunk.leaseUntil ?? 0) > now) return true;
      this.#safeHook(() => this.#hooks.onClaimForgotten?.(c));
      return false;
    });
    this.#unanswered = [];
    if (claims.length === 0) return;
    let found: Awaited<ReturnType<GridPorts["store"]["getChunks"]>>;
    try {
      found = await this.#ports.store.getChunks(claims.map((c) => c.chunk));
    } catch {
      this.#unanswered.push(...claims);
      return;
    }
    claims.forEach((claim, i) => {
      const record = found[i];
      if (this.#dead || this.#leases.has(leaseId(claim.chunk))) return;
      if (!isOwnWrite(record, claim.chunk)) {
        // A later lease: if this claim did land (superseded since), it never ran.
        if (record && record.fence > claim.chunk.fence)
          this.#safeHook(() => this.#hooks.onClaimForgotten?.(claim));
        return;
      }
      // It landed: a plain claim runs now (its runs are charged when committed); a careful one
      // charged runs that had to start at once, which they cannot now: they are given back.
      this.#start({ ...claim, chunk: record! }, claim.chunk.charged === true);
    });
  }

  /** Waits until every held lease committed or was given up, then flushes acknowledgements. */
  async drain(): Promise<void> {
    while (this.#done.size > 0) await Promise.all([...this.#done.values()]);
    await this.acker.flush();
  }

  /** Waits for the given leases to finish (and for this worker's own take-up of their leftovers). */
  async settle(ids: readonly string[]): Promise<void> {
    for (;;) {
      const pending = ids.map((id) => this.#done.get(id)).filter((p) => p !== undefined);
      if (pending.length === 0) return;
      await Promise.all(pending);
    }
  }

  /** Aborts the running tasks of every held lease with `reason` (they then commit as failures). */
  abortAll(reason: AbortReason): void {
    for (const lease of this.#leases.values()) {
      for (const run of lease.runs.values()) if (!run.result) run.controller.abort(reason);
    }
  }

  /** From now on, tasks that have not started are released instead of run (a shutdown began). */
  beginShutdown(): void {
    this.#stopping = true;
  }

  /**
   * Gives up on runs that did not return: their tasks are released (queued again at once, the
   * attempt given back) together with the results of the runs of the same chunks that did
   * finish, acknowledgements are flushed, and the dispatcher writes nothing more. For a worker
   * that must exit while some task ignores its abort: the process exits, and the task with it.
   */
  async releaseAll(): Promise<void> {
    // An early commit in flight is not the lease's last: wait for it, then release the rest.
    await Promise.all([...this.#leases.values()].map((l) => l.earlyCommits));
    const leases = [...this.#leases.values()].filter((l) => !l.lost && !l.committing);
    this.#dead = true;
    await Promise.all(
      leases.map(async (lease) => {
        for (const run of lease.runs.values()) {
          if (run.result) continue;
          run.result = RELEASED;
          run.controller.abort(AbortReason.SHUTDOWN);
        }
        await commitLease(this.#ports, this.#owner, this.acker, lease).catch(() => undefined);
        lease.lost = true; // nothing more is written for it, whatever its runs do now
      }),
    );
    await this.acker.flush().catch(() => {});
  }

  /**
   * Simulates a crash: every lease is dropped without a commit or an acknowledgement, as if
   * the process had died. Its tickets reappear and its leases expire.
   */
  crash(): void {
    this.#dead = true;
    for (const c of this.#unanswered.splice(0)) this.#safeHook(() => this.#hooks.onClaimForgotten?.(c));
    this.acker.discard();
    for (const lease of this.#leases.values()) loseLease(lease, AbortReason.SHUTDOWN);
  }
}
