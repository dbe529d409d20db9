/**
 * The EC2 agent's user data: where it gets its software, that it checks what it downloads
 * before using it, that it installs what it uses, and that no value can break it. Parts of the
 * generated script are run here for real (with bash), never the whole: it installs packages and
 * writes to /opt and /etc.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type AgentBootArgs, agentBootScript } from "./agent-boot.ts";

const ARGS: AgentBootArgs = {
  pool: "gpu",
  region: "eu-west-1",
  bucket: "tessera-prod-blobs-abc123",
  codeKey: "agent/0f3a.zip",
  codeSha256: "a".repeat(64),
  nodeMajor: 24,
  graceSeconds: 30,
  environment: {
    TESSERA_PREFIX: "tessera-prod",
    TESSERA_QUEUE_URL_BASE: "https://sqs.eu-west-1.amazonaws.com/123456789012",
    NODE_OPTIONS: "--enable-source-maps --max-old-space-size=4096",
    AWS_REGION: "us-east-1",
  },
};
const script = agentBootScript(ARGS);
const lines = script.split("\n");
const lineOf = (pattern: RegExp) => {
  const i = lines.findIndex((l) => pattern.test(l));
  expect(i, String(pattern)).toBeGreaterThanOrEqual(0);
  return i;
};

const temps: string[] = [];
afterAll(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "tessera-agent-boot-"));
  temps.push(dir);
  return dir;
}
/** Runs a piece of the script with bash, as the script runs it (set -euo pipefail). */
function bash(code: string) {
  return spawnSync("bash", ["-c", `set -euo pipefail\n${code}`], { encoding: "utf8" });
}

/** Commands run outside the unit file's here-document, each with the line that first runs it. */
function commandsOf(text: string): Map<string, number> {
  const variables = new Map(
    [...text.matchAll(/^([A-Z_][A-Z0-9_]*)='([^']*)'$/gm)].map((m) => [m[1]!, m[2]!]),
  );
  const found = new Map<string, number>();
  let inUnit = false;
  text.split("\n").forEach((line, i) => {
    if (inUnit) {
      inUnit = line !== "UNIT";
      return;
    }
    if (line.includes("<<'UNIT'")) inUnit = true;
    if (/^\s*(#|$)/.test(line)) return;
    for (const part of line.split(/&&|\|\||\||;|\$\(|>\(|\bthen\b|\bif\b/)) {
      let word = part.trim().split(/\s+/)[0] ?? "";
      if (word === "" || /^[A-Za-z_][A-Za-z0-9_]*=/.test(word) || word === ">") continue;
      word = word.replace(/^"\$([A-Z_]+)"$/, (_, name: string) => variables.get(name) ?? name);
      if (!found.has(word)) found.set(word, i);
    }
  });
  return found;
}

describe("agentBootScript", () => {
  it("gets Node and unzip from Amazon Linux's signed repositories, never the internet or npm", () => {
    expect(script).not.toMatch(/\bcurl\b|\bwget\b|nodejs\.org|\bnpm\b|\bnpx\b|https?:\/\/(?!sqs\.)/);
    expect(lines).toContain("dnf install -y nodejs24 unzip awscli-2");
    expect(script).toContain("NODE='/usr/bin/node-24'");
    expect(script.startsWith("#!/bin/bash\n")).toBe(true);
    expect(lineOf(/^set -euo pipefail$/)).toBeLessThan(lineOf(/^dnf install/));
    expect(lineOf(/^exec > >\(tee -a \/var\/log\/tessera-agent-setup\.log\) 2>&1$/)).toBeLessThan(
      lineOf(/^dnf install/),
    );
  });

  it("installs every command it uses beyond AL2023's base system, before using it", () => {
    const builtins = ["set", "exec", "echo", "exit", "[[", "fi"];
    const base = [
      "tee",
      "dnf",
      "mktemp",
      "sha256sum",
      "rm",
      "mkdir",
      "chmod",
      "id",
      "useradd",
      "cat",
      "systemctl",
    ];
    const provides: Record<string, string> = {
      nodejs24: "/usr/bin/node-24",
      unzip: "unzip",
      "awscli-2": "aws",
    };
    const install = lineOf(/^dnf install -y /);
    const installed = lines[install]!.replace("dnf install -y ", "").split(" ");
    const used = commandsOf(script);
    expect([...used.keys()]).toEqual(
      expect.arrayContaining(["/usr/bin/node-24", "aws", "unzip", "sha256sum"]),
    );
    for (const [command, line] of used) {
      if (builtins.includes(command) || base.includes(command)) continue;
      const pkg = Object.keys(provides).find((p) => provides[p] === command);
      expect(pkg && installed.includes(pkg), `${command} (line ${line + 1}) is installed`).toBe(true);
      expect(line, `${command} is used after the install`).toBeGreaterThan(install);
    }
  });

  it("refuses a Node of another major before running anything on it", () => {
    const check = lines.slice(lineOf(/^NODE_VERSION=/), lineOf(/^fi$/) + 1).join("\n");
    expect(lineOf(/^fi$/)).toBeLessThan(lineOf(/^aws s3 cp /));
    const dir = tempDir();
    const fake = (version: string) => {
      writeFileSync(join(dir, "node"), `#!/bin/sh\necho ${version}\n`);
      chmodSync(join(dir, "node"), 0o755);
      return bash(`NODE='${join(dir, "node")}'\n${check}\necho passed`);
    };
    expect(fake("v24.21.0").stdout).toBe("passed\n");
    const old = fake("v22.9.0");
    expect(old.status).not.toBe(0);
    expect(old.stdout).toBe("");
    expect(old.stderr).toContain("is v22.9.0, not Node 24");
    expect(fake("v240.0.0").status).not.toBe(0);
  });

  it("unpacks the bundle only after its SHA-256 matched the expected one", () => {
    const download = lineOf(/^aws s3 cp /);
    expect(lines[download]).toBe(
      `aws s3 cp --only-show-errors --region "$REGION" "s3://$BUCKET/$CODE_KEY" "$WORK/agent.zip"`,
    );
    const verify = lineOf(/sha256sum/);
    const unpack = lineOf(/^unzip /);
    expect(download).toBeLessThan(verify);
    expect(verify).toBeLessThan(unpack);
    expect(lines[unpack]).toBe(`unzip -q "$WORK/agent.zip" -d /opt/tessera`);
    // The script's own lines, run against a download that is, then is not, the expected one.
    const dir = tempDir();
    const zip = Buffer.from("PK\u0003\u0004 the agent");
    writeFileSync(join(dir, "agent.zip"), zip);
    const sha = createHash("sha256").update(zip).digest("hex");
    const own = agentBootScript({ ...ARGS, codeSha256: sha }).split("\n");
    const run = () =>
      bash(
        [own.find((l) => l.startsWith("CODE_SHA256=")), `WORK='${dir}'`, own[verify], "echo unpacking"].join(
          "\n",
        ),
      );
    expect(run().stdout).toContain("unpacking");
    writeFileSync(join(dir, "agent.zip"), Buffer.concat([zip, Buffer.from("!")]));
    const tampered = run();
    expect(tampered.status).not.toBe(0);
    expect(tampered.stdout).not.toContain("unpacking");
  });

  it("downloads through the given S3 endpoint when there is one", () => {
    const custom = agentBootScript({ ...ARGS, s3Endpoint: "https://s3-fips.eu-west-1.amazonaws.com" });
    expect(custom).toContain(
      `aws s3 cp --only-show-errors --region "$REGION" --endpoint-url 'https://s3-fips.eu-west-1.amazonaws.com' "s3://$BUCKET/$CODE_KEY"`,
    );
  });

  it("runs the bundle as an unprivileged systemd service that drains on stop", () => {
    const unit = script.slice(script.indexOf("<<'UNIT'\n") + 9, script.indexOf("\nUNIT\n"));
    const unitLines = unit.split("\n");
    expect(unitLines).toContain(
      "ExecStart=/usr/bin/node-24 /opt/tessera/agent.mjs --pools gpu --grace 30 --health-port 8081 --spot-watch --ec2-status",
    );
    for (const line of [
      "User=tessera",
      "KillSignal=SIGTERM",
      "KillMode=mixed",
      "TimeoutStopSec=45",
      "Restart=on-failure",
      'Environment="TESSERA_PREFIX=tessera-prod"',
      'Environment="TESSERA_QUEUE_URL_BASE=https://sqs.eu-west-1.amazonaws.com/123456789012"',
      'Environment="NODE_OPTIONS=--enable-source-maps --max-old-space-size=4096"',
      'Environment="AWS_REGION=eu-west-1"',
      'Environment="TESSERA_AGENT_POOLS=gpu"',
    ])
      expect(unitLines).toContain(line);
    // The unit's own region wins over one in the grid's environment.
    expect(unit).not.toContain("us-east-1");
    expect(lineOf(/^useradd|\|\| useradd --system /)).toBeLessThan(
      lineOf(/^systemctl enable --now tessera-agent$/),
    );
    expect(lineOf(/^systemctl daemon-reload$/)).toBeLessThan(
      lineOf(/^systemctl enable --now tessera-agent$/),
    );
  });

  it("is a script bash accepts, with or without an endpoint", () => {
    for (const text of [
      script,
      agentBootScript({ ...ARGS, s3Endpoint: "http://127.0.0.1:4566", environment: {} }),
    ]) {
      const check = spawnSync("bash", ["-n"], { input: text, encoding: "utf8" });
      expect(check.stderr).toBe("");
      expect(check.status).toBe(0);
    }
  });

  it("refuses a value that could break the script, naming its field", () => {
    const bad: [Partial<AgentBootArgs>, RegExp][] = [
      [{ pool: "gpu'; reboot; '" }, /^pool: /],
      [{ pool: "a b" }, /^pool: /],
      [{ region: "eu-west-1\nreboot" }, /^region: /],
      [{ bucket: "b$(reboot)" }, /^bucket: /],
      [{ codeKey: "agent/x.zip' && reboot '" }, /^codeKey: /],
      [{ codeSha256: "abc" }, /^codeSha256: /],
      [{ codeSha256: "A".repeat(64) }, /^codeSha256: /],
      [{ nodeMajor: 24.5 }, /^nodeMajor: /],
      [{ nodeMajor: 20 }, /^nodeMajor: /],
      [{ graceSeconds: -1 }, /^graceSeconds: /],
      [{ graceSeconds: "30" as never }, /^graceSeconds: /],
      [{ s3Endpoint: "https://x.example.com/'$(reboot)" }, /^s3Endpoint: /],
      [{ environment: { TESSERA_PREFIX: 'a"\nExecStartPre=/bin/reboot' } }, /^environment\.TESSERA_PREFIX: /],
      [{ environment: { TESSERA_PREFIX: "%h" } }, /^environment\.TESSERA_PREFIX: /],
      [{ environment: { TESSERA_PREFIX: "$HOME" } }, /^environment\.TESSERA_PREFIX: /],
      [{ environment: { "A=B": "x" } }, /^environment key "A=B": /],
      [{ environment: null as never }, /^environment: /],
    ];
    for (const [change, message] of bad)
      expect(() => agentBootScript({ ...ARGS, ...change })).toThrow(message);
  });
});
