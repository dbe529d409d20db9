/**
 * Where the CLI finds its grid: flags, then environment (TESSERA_URL, TESSERA_TOKEN,
 * TESSERA_PROFILE), then a profile file (~/.config/tessera/config.json, or TESSERA_CONFIG):
 * `{ "profiles": { "default": { "endpoint": "...", "token": "..." } } }`.
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

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
