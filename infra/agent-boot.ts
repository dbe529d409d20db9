/**
 * The user data of an EC2 agent: what an Amazon Linux 2023 instance runs at first boot to become
 * an agent of one pool. Everything it fetches comes through the VPC's S3 gateway endpoint, with
 * no internet and no registry: Node and unzip from AL2023's own repositories (served from S3;
 * dnf checks every package's signature), and the bundled agent (scripts/build-agent.ts) from the
 * grid's bucket, checked against its SHA-256 before it is unpacked. The agent then runs as a
 * systemd service of an unprivileged user; stopping the instance stops it with SIGTERM, and it
 * drains within its grace period.
 *
 * Pure: the same arguments give the same script. Every value it inserts is checked against a
 * character set that can neither break the script nor the unit file (quotes, `$`, `%`,
 * backslashes and line breaks are refused), and the field of a bad one is named.
 */

/** What {@link agentBootScript} needs. */
export interface AgentBootArgs {
  /** The pool the agent serves. */
  pool: string;
  /** The grid's region (the bucket's and the agent's). */
  region: string;
  /** The bucket holding the agent bundle. */
  bucket: string;
  /** The bundle's key, e.g. `agent/<sha256>.zip`. */
  codeKey: string;
  /** SHA-256 (hex) of the zip's bytes (build-agent's `zipSha256`). */
  codeSha256: string;
  /** Node's major version, from AL2023's `nodejs<major>` package (binary `/usr/bin/node-<major>`). */
  nodeMajor: number;
  /** Seconds running tasks get to finish when the agent is stopped (`--grace`). */
  graceSeconds: number;
  /** The agent's environment (the grid's settings: TESSERA_PREFIX, TESSERA_QUEUE_URL_BASE, …). */
  environment: Record<string, string>;
  /** S3 endpoint for the download (a FIPS or custom endpoint); the region's by default. */
  s3Endpoint?: string | undefined;
}

/** Where the setup logs, so that a failed boot can be read on the instance (and its console). */
export const AGENT_SETUP_LOG = "/var/log/tessera-agent-setup.log";
/** The port of the agent's health endpoint on the instance. */
export const AGENT_HEALTH_PORT = 8081;
/**
 * Packages the script installs, one per command it uses beyond AL2023's base system (bash,
 * coreutils, shadow-utils, systemd): awscli-2 is in the standard image but not the minimal one.
 */
export const AGENT_BOOT_PACKAGES = (nodeMajor: number) => [`nodejs${nodeMajor}`, "unzip", "awscli-2"];

/** Each field's allowed form, and how a refusal describes it. */
const FORMS = {
  pool: [/^[A-Za-z0-9_-]{1,64}$/, "1-64 characters of A-Z a-z 0-9 _ -"],
  region: [/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, "an AWS region such as us-east-1"],
  bucket: [/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "an S3 bucket name"],
  codeKey: [/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/, "an S3 key of A-Z a-z 0-9 _ . - and /"],
  codeSha256: [/^[0-9a-f]{64}$/, "a SHA-256 of 64 lowercase hex digits"],
  s3Endpoint: [/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[A-Za-z0-9._~/-]*)?$/, "an http(s) URL"],
  environmentKey: [/^[A-Za-z_][A-Za-z0-9_]*$/, "a variable name (A-Z a-z 0-9 _, not starting with a digit)"],
  // URLs, lists and flags; spaces too (the unit quotes each assignment). Never a quote, `$`,
  // `%` (a systemd specifier), a backslash or a line break.
  environmentValue: [/^[A-Za-z0-9 _.,:/@+=~?&#-]*$/, "A-Z a-z 0-9, spaces and _ . , : / @ + = ~ ? & # -"],
} as const satisfies Record<string, readonly [RegExp, string]>;

function checked(field: string, value: unknown, form: keyof typeof FORMS): string {
  const [pattern, description] = FORMS[form];
  if (typeof value !== "string" || !pattern.test(value))
    throw new Error(`${field}: must be ${description} (got ${JSON.stringify(value)})`);
  return value;
}

function wholeNumber(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max)
    throw new Error(`${field}: must be a whole number from ${min} to ${max} (got ${JSON.stringify(value)})`);
  return value;
}

/** The variables the unit sets itself: the grid's environment cannot override them. */
const OWN_VARIABLES = ["AWS_REGION", "TESSERA_AGENT_POOLS"];

/** The user-data script (bash) that makes an AL2023 instance an agent of `args.pool`. */
export function agentBootScript(args: AgentBootArgs): string {
  const pool = checked("pool", args.pool, "pool");
  const region = checked("region", args.region, "region");
  const bucket = checked("bucket", args.bucket, "bucket");
  const codeKey = checked("codeKey", args.codeKey, "codeKey");
  const codeSha256 = checked("codeSha256", args.codeSha256, "codeSha256");
  const s3Endpoint =
    args.s3Endpoint === undefined ? undefined : checked("s3Endpoint", args.s3Endpoint, "s3Endpoint");
  const nodeMajor = wholeNumber("nodeMajor", args.nodeMajor, 24, 99);
  const grace = wholeNumber("graceSeconds", args.graceSeconds, 0, 86_400);
  if (typeof args.environment !== "object" || args.environment === null)
    throw new Error("environment: must be an object of variable names to values");
  const environment = Object.entries(args.environment)
    .filter(([key]) => !OWN_VARIABLES.includes(key))
    .map(([key, value]) => {
      checked(`environment key ${JSON.stringify(key)}`, key, "environmentKey");
      return `Environment="${key}=${checked(`environment.${key}`, value, "environmentValue")}"`;
    });
  const node = `/usr/bin/node-${nodeMajor}`;
  const endpoint = s3Endpoint === undefined ? "" : ` --endpoint-url '${s3Endpoint}'`;

  return `#!/bin/bash
# Tessera agent for pool ${pool}: installs Node ${nodeMajor} from Amazon Linux's repositories,
# fetches the agent bundle, checks its SHA-256, and runs it as a systemd service. Stopping the
# instance stops the service with SIGTERM: the agent drains.
set -euo pipefail
exec > >(tee -a ${AGENT_SETUP_LOG}) 2>&1

REGION='${region}'
BUCKET='${bucket}'
CODE_KEY='${codeKey}'
CODE_SHA256='${codeSha256}'
NODE='${node}'

# AL2023's repositories are served from S3 (reachable through the VPC's gateway endpoint), and
# dnf checks each package's signature against Amazon Linux's key.
dnf install -y ${AGENT_BOOT_PACKAGES(nodeMajor).join(" ")}
NODE_VERSION="$("$NODE" --version)"
if [[ "$NODE_VERSION" != v${nodeMajor}.* ]]; then
  echo "tessera: $NODE is $NODE_VERSION, not Node ${nodeMajor}" >&2
  exit 1
fi

# The bundle is unpacked only once its bytes are the ones the stack uploaded.
WORK="$(mktemp -d)"
aws s3 cp --only-show-errors --region "$REGION"${endpoint} "s3://$BUCKET/$CODE_KEY" "$WORK/agent.zip"
echo "$CODE_SHA256  $WORK/agent.zip" | sha256sum --check --strict
rm -rf /opt/tessera
mkdir -p /opt/tessera
unzip -q "$WORK/agent.zip" -d /opt/tessera
rm -rf "$WORK"
chmod -R u=rwX,go=rX /opt/tessera

# The agent runs unprivileged, and cannot change its own code.
id -u tessera >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /opt/tessera --shell /sbin/nologin tessera
cat > /etc/systemd/system/tessera-agent.service <<'UNIT'
[Unit]
Description=Tessera agent (pool ${pool})
After=network-online.target
Wants=network-online.target
[Service]
User=tessera
WorkingDirectory=/opt/tessera
${[...environment, `Environment="AWS_REGION=${region}"`, `Environment="TESSERA_AGENT_POOLS=${pool}"`].join("\n")}
ExecStart=${node} /opt/tessera/agent.mjs --pools ${pool} --grace ${grace} --health-port ${AGENT_HEALTH_PORT} --spot-watch --ec2-status
KillSignal=SIGTERM
KillMode=mixed
TimeoutStopSec=${grace + 15}
Restart=on-failure
RestartSec=5
NoNewPrivileges=yes
[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now tessera-agent
`;
}
