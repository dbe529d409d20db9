/**
 * `tessera dashboard [--port N] [--no-open]`: serves the web dashboard on 127.0.0.1 for the grid
 * the CLI is configured for (flags, environment, profile) and opens it in a browser. The server
 * holds the credential and the browser none (see dashboard-server.ts).
 */
import { type Command, InvalidArgumentError } from "commander";
import { DEFAULT_DASHBOARD_PORT } from "./dashboard-server.ts";
import { type Connection, profilePath, resolveConnection } from "./profile.ts";

/** The global flags the command reads (the program's own). */
interface ConnectionFlags {
  endpoint?: string;
  token?: string;
  profile?: string;
  iamRegion?: string;
  json?: boolean;
}

function portNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError("must be a port (0-65535)");
  return n;
}

/**
 * What to do when the grid refuses the credential, naming where this CLI took it from: the page
 * shows it, since the browser cannot see the CLI's configuration.
 */
export function credentialHint(
  connection: Connection,
  flags: ConnectionFlags,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const again = "then run `tessera dashboard` again";
  if (connection.iamRegion)
    return `renew your AWS credentials (for example \`aws sso login\`, or set AWS_PROFILE) — they need execute-api:Invoke on the grid's API — ${again}`;
  if (flags.token) return `pass the grid's token with --token, ${again}`;
  if (env.TESSERA_TOKEN) return `set TESSERA_TOKEN to the grid's token, ${again}`;
  const profile = flags.profile ?? env.TESSERA_PROFILE ?? "default";
  return `fix the token of profile "${profile}" in ${profilePath(env)} (or pass --token), ${again}`;
}

/** Whether opening a browser can work here: not in CI, and on Linux only with a display. */
export function browserLikely(env: NodeJS.ProcessEnv = process.env, platform = process.platform): boolean {
  if (env.CI) return false;
  if (platform === "linux") return Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
  return true;
}

/**
 * Registers `dashboard` on the `tessera` program; `flags` gives the program's global flags when
 * the command runs.
 */
export function registerDashboardCommand(program: Command, flags: () => ConnectionFlags): void {
  program
    .command("dashboard")
    .description("serve the web dashboard of this grid on 127.0.0.1 and open it (Ctrl-C stops)")
    .option("--port <n>", `port on 127.0.0.1 (0: any free port)`, portNumber, DEFAULT_DASHBOARD_PORT)
    .option("--no-open", "print the address without opening a browser")
    .action(async (o: { port: number; open: boolean }) => {
      const globals = flags();
      const connection = resolveConnection(globals);
      // The AWS signing code and the web server load only for this command.
      const signer = connection.iamRegion
        ? (await import("./sigv4.ts")).sigv4Signer({ region: connection.iamRegion })
        : undefined;
      const { startDashboardServer } = await import("./dashboard-server.ts");
      const server = await startDashboardServer({
        endpoint: connection.endpoint,
        token: connection.token,
        signer,
        credentialHint: credentialHint(connection, globals),
        port: o.port,
      });
      if (globals.json) process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
      else console.log(`dashboard of ${connection.endpoint}: ${server.url}   (Ctrl-C stops)`);
      process.once("SIGINT", () => void server.close().then(() => process.exit(0)));
      process.once("SIGTERM", () => void server.close().then(() => process.exit(0)));
      if (!o.open || !browserLikely()) return;
      const { default: open } = await import("open");
      await open(server.url).catch((error: Error) =>
        console.error(`tessera: could not open a browser (${error.message}): open ${server.url} yourself`),
      );
    });
}
