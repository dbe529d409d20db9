/**
 * Where the CLI finds its grid: flags, then environment (TESSERA_URL, TESSERA_TOKEN,
 * TESSERA_PROFILE), then a profile file (~/.config/tessera/config.json, or TESSERA_CONFIG):
 * `{ "profiles": { "default": { "endpoint": "...", "token": "..." } } }`.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

/** A resolved connection. */
export interface Connection {
  endpoint: string;
  /** Bearer token (local grid, JWT deployments). */
  token?: string | undefined;
  /** Sign with AWS credentials for this region instead (IAM deployments). */
  iamRegion?: string | undefined;
}

/** A mistake in how the CLI was configured or called: one line, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The profile file's path. */
export function profilePath(env: NodeJS.ProcessEnv = process.env): string {
  return (
    env.TESSERA_CONFIG ?? join(env.XDG_CONFIG_HOME ?? join(homedir(), ".config"), "tessera", "config.json")
  );
}

/** Resolves the connection from flags, environment and the profile file. */
export function resolveConnection(
  flags: { endpoint?: string; token?: string; profile?: string; iamRegion?: string },
  env: NodeJS.ProcessEnv = process.env,
): Connection {
  const name = flags.profile ?? env.TESSERA_PROFILE ?? "default";
  let profile: Partial<Connection> = {};
  const path = profilePath(env);
  if (existsSync(path)) {
    let parsed: { profiles?: Record<string, Partial<Connection>> };
    try {
      parsed = JSON.parse(readFileSync(path, "utf8"));
    } catch (error) {
      throw new UsageError(`${path}: not valid JSON (${(error as Error).message})`);
    }
    profile = parsed.profiles?.[name] ?? {};
    if (flags.profile && !parsed.profiles?.[name]) throw new UsageError(`no profile "${name}" in ${path}`);
  } else if (flags.profile) {
    throw new UsageError(`no profile file at ${path} (for --profile ${flags.profile})`);
  }
  const endpoint = flags.endpoint || env.TESSERA_URL || profile.endpoint;
  const token = flags.token || env.TESSERA_TOKEN || profile.token;
  const iamRegion = flags.iamRegion || env.TESSERA_IAM_REGION || profile.iamRegion;
  if (!endpoint)
    throw new UsageError("no grid: pass --endpoint, set TESSERA_URL, or add a profile (see --help)");
  if (!token && !iamRegion) {
    throw new UsageError(
      "no credentials: pass --token (or TESSERA_TOKEN), or --iam-region to sign with your AWS credentials",
    );
  }
  return { endpoint, token: iamRegion ? undefined : token, iamRegion };
}

/** What `sst deploy` writes to .sst/outputs.json that a profile needs. */
interface StackOutputs {
  api?: unknown;
  region?: unknown;
  auth?: unknown;
}

/**
 * A profile from a deployed stack's outputs (`.sst/outputs.json`): the API URL, and for an
 * IAM-authenticated grid the region to sign for. A JWT grid needs a token as well.
 */
export function profileFromOutputs(path: string, token?: string): Connection {
  let outputs: StackOutputs;
  try {
    outputs = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    throw new UsageError(
      e.code === "ENOENT"
        ? `${path}: no such file (run \`npx sst deploy\` first; it writes .sst/outputs.json)`
        : `${path}: not valid JSON (${e.message})`,
    );
  }
  if (typeof outputs.api !== "string" || !/^https?:\/\//.test(outputs.api))
    throw new UsageError(`${path}: no "api" URL among the outputs (is this a Tessera stack's outputs.json?)`);
  if (outputs.auth === "jwt") {
    if (!token) throw new UsageError(`${path}: this grid authenticates with JWTs: pass --token as well`);
    return { endpoint: outputs.api, token };
  }
  if (typeof outputs.region !== "string") throw new UsageError(`${path}: no "region" among the outputs`);
  return { endpoint: outputs.api, iamRegion: outputs.region };
}

/** Writes (or replaces) one profile in the profile file, keeping the others; returns the path. */
export function saveProfile(
  name: string,
  connection: Connection,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name))
    throw new UsageError(`profile name "${name}": use 1-64 letters, digits, '.', '_' or '-'`);
  const path = profilePath(env);
  let file: { profiles?: Record<string, Partial<Connection>> } = {};
  if (existsSync(path)) {
    try {
      file = JSON.parse(readFileSync(path, "utf8"));
    } catch (error) {
      throw new UsageError(`${path}: not valid JSON (${(error as Error).message}); fix or remove it first`);
    }
  }
  const entry: Partial<Connection> = { endpoint: connection.endpoint };
  if (connection.iamRegion) entry.iamRegion = connection.iamRegion;
  else if (connection.token) entry.token = connection.token;
  file.profiles = { ...file.profiles, [name]: entry };
  mkdirSync(dirname(path), { recursive: true });
  // Tokens are secrets: the file is readable by its owner only.
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}
