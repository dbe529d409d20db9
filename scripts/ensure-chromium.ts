/**
 * The dashboard's browser tests drive Debian's chromium (/usr/bin/chromium) through
 * playwright-core, which downloads no browser of its own. `npm test` installs it when missing,
 * with apt as root (it refreshes the package lists when the first try fails), and otherwise says
 * in one line how to install it.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/** Where the tests look for the browser. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** Installs chromium when missing; throws an Error with a one-line message when it cannot. */
export function ensureChromium(): void {
  if (existsSync(CHROMIUM_PATH)) return;
  const manual = "install it yourself (Debian/Ubuntu: apt-get install -y --no-install-recommends chromium)";
  if (process.getuid?.() !== 0)
    throw new Error(
      `${CHROMIUM_PATH} is missing (the dashboard's browser tests need it) and installing it needs root: ${manual}`,
    );
  console.log(
    `\n▶ chromium for the dashboard's browser tests: apt-get install -y --no-install-recommends chromium`,
  );
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const apt = (args: string[]) => spawnSync("apt-get", args, { stdio: "inherit", env });
  const install = ["install", "-y", "--no-install-recommends", "chromium"];
  let r = apt(install);
  if (r.error) throw new Error(`${CHROMIUM_PATH} is missing and there is no apt-get here: ${manual}`);
  if (r.status !== 0) {
    apt(["update"]);
    r = apt(install);
  }
  if (r.status !== 0 || !existsSync(CHROMIUM_PATH))
    throw new Error(`apt-get could not install chromium (see above): ${manual}`);
}
