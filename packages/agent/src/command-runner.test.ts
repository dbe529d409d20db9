import { execSync } from "node:child_process";
import type { TaskContext } from "@tessera/core";
import { describe, expect, it } from "vitest";
import { commandRunner } from "./command-runner.ts";

const task = (payload: string | null, signal = new AbortController().signal): TaskContext => ({
  tenant: "acme",
  sessionId: "s1",
  taskId: "7",
  index: 7,
  attempt: 2,
  maxAttempts: 3,
  handler: undefined,
  payload,
  signal,
});

const sh = (script: string, extra: Parameters<typeof commandRunner>[0] = { command: "" }) =>
  commandRunner({ ...extra, command: "sh", args: ["-c", script] });

describe("command runner", () => {
  it("passes the payload on stdin and returns stdout", async () => {
    await expect(sh("tr a-z A-Z")(task("hello"))).resolves.toBe("HELLO");
  });

  it("passes the payload as a file when asked, with the task's ids in the environment", async () => {
    const run = sh(
      'printf "%s:%s:%s:" "$TESSERA_SESSION_ID" "$TESSERA_TASK_ID" "$TESSERA_ATTEMPT"; cat "$TESSERA_INPUT_FILE"',
      {
        command: "",
        input: "file",
      },
    );
    await expect(run(task("payload"))).resolves.toBe("s1:7:2:payload");
  });

  it("fails on a non-zero exit, with the end of stderr", async () => {
    await expect(sh("echo partial; echo 'bad input line 3' >&2; exit 3")(task("x"))).rejects.toThrow(
      "sh exited with code 3: bad input line 3",
    );
  });

  it("stops a program that runs past its timeout", async () => {
    const started = Date.now();
    await expect(sh("sleep 10", { command: "", timeoutMs: 200 })(task(null))).rejects.toThrow(
      "timed out after 200 ms",
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("stops a program when the task is aborted, even one that ignores SIGTERM", async () => {
    const controller = new AbortController();
    const run = sh("trap '' TERM; while :; do sleep 0.05; done", { command: "", killGraceMs: 200 });
    const pending = run(task(null, controller.signal));
    setTimeout(() => controller.abort("cancelled"), 200);
    await expect(pending).rejects.toThrow("stopped: cancelled");
  });

  it("fails clearly when the program does not exist", async () => {
    await expect(commandRunner({ command: "/no/such/program" })(task(null))).rejects.toThrow(
      /could not run \/no\/such\/program/,
    );
  });

  it("ends what a program left running in the background, on success and on abort", async () => {
    const marker = `tessera-bg-${process.pid}-${Date.now()}`;
    const alive = () => {
      try {
        // "[t]essera…" matches the programs but not this pgrep's own shell.
        return execSync(`pgrep -f '[t]${marker.slice(1)}'`, { encoding: "utf8" }).trim() !== "";
      } catch {
        return false;
      }
    };
    await expect(sh(`sh -c 'sleep 30; echo ${marker}' & echo done`)(task(null))).resolves.toBe("done\n");
    await new Promise((r) => setTimeout(r, 100));
    expect(alive()).toBe(false);
    const controller = new AbortController();
    const pending = sh(`sh -c 'sleep 30; echo ${marker}' & exit 0`)(task(null, controller.signal));
    await expect(pending).resolves.toBe("");
    expect(alive()).toBe(false);
  });
});
