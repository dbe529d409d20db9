/**
 * `npm test`: type-check, lint, type-check the SST stack, then every test (Vitest starts and
 * stops the emulators; chromium, for the dashboard's browser tests, is installed first if missing).
 * Stops at the first failing step with its exit code.
 */
import { spawnSync } from "node:child_process";
import { checkJava } from "../packages/core/src/emulators/dynamodb-local.ts";
import { checkNodeVersion } from "./check-node.ts";
import { ensureChromium } from "./ensure-chromium.ts";

checkNodeVersion();
try {
  checkJava(); // DynamoDB Local needs it: say so in one line, before anything starts
  ensureChromium(); // the dashboard's browser tests
} catch (error) {
  console.error(`✗ ${(error as Error).message}`);
  process.exit(1);
}
const steps: Array<[string, string[]]> = [
  ["type-check", ["tsc", "-p", "."]],
  // The dashboard's front end has its own config: it runs in a browser, not on Node.
  ["dashboard type-check", ["tsc", "-p", "packages/dashboard"]],
  ["lint", ["biome", "check", "."]],
  // sst.config.ts and infra/ against SST's real types (offline install: scripts/sst-typecheck.ts).
  ["infra type-check", ["node", "scripts/sst-typecheck.ts"]],
  ["tests", ["vitest", "run", ...process.argv.slice(2)]],
];
for (const [name, [cmd, ...args]] of steps) {
  console.log(`\n▶ ${name}: ${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd!, args, { stdio: "inherit", shell: false });
  if (r.error) {
    console.error(`✗ ${name}: could not run ${cmd}: ${r.error.message} (did you run npm install?)`);
    process.exit(1);
  }
  if (r.status !== 0) {
    console.error(`✗ ${name} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
}
console.log("\n✓ type-check, lint and tests passed");
