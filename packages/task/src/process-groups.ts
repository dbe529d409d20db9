/**
 * Process groups the agent or the Lambda worker started (task programs, warm workers): each is
 * its own group so that a stop reaches the programs it started too, and every group still alive
 * is SIGKILLed when the host exits — a child left behind would run on unwatched, holding a CPU and its pipes.
 */

const live = new Set<number>();
let exitHookInstalled = false;

/** Sends `signal` to the process group led by `pid` (nothing if it is gone already). */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Kills the group led by `pid` if the host exits before {@link forgetGroup} is called. */
export function watchGroup(pid: number): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => {
      for (const group of live) killGroup(group, "SIGKILL");
    });
  }
  live.add(pid);
}

/** The group led by `pid` is over (or killed): the exit hook leaves it alone. */
export function forgetGroup(pid: number): void {
  live.delete(pid);
}
