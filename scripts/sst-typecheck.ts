/**
 * Test tooling (never run for users, who have internet): type-checks `sst.config.ts` and
 * `infra/` against SST's real platform types, offline.
 *
 * `sst install` downloads Pulumi and bun from GitHub. Here it runs with HOME pointed at a
 * temporary directory whose ~/.config/sst/bin holds stand-ins: `pulumi` and
 * `pulumi-language-nodejs` that print the version this SST pins, and a `bun` whose `install`
 * is `npm install` (the providers then come from the npm registry). A real user's
 * ~/.config/sst is never touched. The result is cached per SST version in .sst/platform.
 * Any failure is loud: it prints what SST said and exits 1.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const sstVersion = (
  JSON.parse(readFileSync(join(root, "node_modules", "sst", "package.json"), "utf8")) as { version: string }
).version;
/** The Pulumi version SST 4.17.1 pins (it downloads exactly this one). */
const PULUMI_VERSION = "3.215.0";
/** The bun version SST 4.17.1 pins. */
const BUN_VERSION = "1.2.1";
const platform = join(root, ".sst", "platform");
const marker = join(platform, ".tessera-offline-install");

function fail(message: string, output = ""): never {
  console.error(`✗ infra type-check: ${message}`);
  if (output.trim()) console.error(output.trim());
  process.exit(1);
}

function install(): void {
  const home = mkdtempSync(join(tmpdir(), "tessera-sst-home-"));
  const bin = join(home, ".config", "sst", "bin");
  mkdirSync(bin, { recursive: true });
  const write = (name: string, script: string) => {
    writeFileSync(join(bin, name), script);
    chmodSync(join(bin, name), 0o755);
  };
  write("pulumi", `#!/bin/sh\necho v${PULUMI_VERSION}\n`);
  write("pulumi-language-nodejs", `#!/bin/sh\necho v${PULUMI_VERSION}\n`);
  write(
    "bun",
    `#!/bin/sh
case "$1" in
  --version) echo ${BUN_VERSION} ;;
  install) exec npm install --ignore-scripts --no-audit --no-fund --no-package-lock --loglevel=error ;;
  *) echo "bun stand-in: unsupported: $*" >&2; exit 1 ;;
esac
`,
  );
  try {
    const run = spawnSync(join(root, "node_modules", ".bin", "sst"), ["install"], {
      cwd: root,
      env: { ...process.env, HOME: home, SST_STAGE: "typecheck", SST_TELEMETRY_DISABLED: "1", NO_COLOR: "1" },
      encoding: "utf8",
      timeout: 10 * 60_000,
    });
    const output = `${run.stdout ?? ""}${run.stderr ?? ""}`;
    if (run.error) fail(`could not run sst: ${run.error.message}`);
    if (run.status !== 0) fail(`sst install failed (exit ${run.status})`, output);
    const pinned = JSON.parse(readFileSync(join(platform, "package.json"), "utf8")).dependencies?.[
      "@pulumi/pulumi"
    ];
    if (String(pinned).replace(/^v/, "") !== PULUMI_VERSION) {
      fail(`SST ${sstVersion} pins Pulumi ${pinned}; update PULUMI_VERSION in scripts/sst-typecheck.ts`);
    }
    if (!existsSync(join(platform, "node_modules", "@pulumi", "aws"))) {
      fail("sst install finished but the providers are missing from .sst/platform/node_modules", output);
    }
    writeFileSync(marker, sstVersion);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

if (!existsSync(marker) || readFileSync(marker, "utf8") !== sstVersion) {
  console.log(`  installing SST ${sstVersion}'s platform offline (once per SST version)…`);
  install();
}
const tsc = join(platform, "node_modules", ".bin", "tsc");
const check = spawnSync(tsc, ["-p", join(root, "infra", "tsconfig.json")], { cwd: root, encoding: "utf8" });
if (check.status !== 0) fail("sst.config.ts or infra/ does not type-check", `${check.stdout}${check.stderr}`);
console.log(`✓ sst.config.ts and infra/ type-check against SST ${sstVersion}`);
