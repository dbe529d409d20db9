/**
 * The agent and the task package carry no Lambda stack: neither declares nor imports
 * `@tessera/functions`, middy or Powertools (an agent on EC2 runs `@tessera/core` and
 * `@tessera/task` only; a task module imports `defineTask` without pulling in the functions).
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const packages = resolve(new URL("../../", import.meta.url).pathname);
const GUARDED = ["agent", "task"];

/** True for a specifier of the Lambda stack. */
const forbidden = (specifier: string) =>
  specifier === "@tessera/functions" ||
  specifier.startsWith("@tessera/functions/") ||
  specifier.startsWith("@middy/") ||
  specifier.startsWith("@aws-lambda-powertools/");

/** Every module specifier of a source file: static and dynamic imports, re-exports, requires. */
function specifiersOf(code: string): string[] {
  const found: string[] = [];
  for (const m of code.matchAll(
    /\bfrom\s*["']([^"']+)["']|\bimport\s*\(?\s*["']([^"']+)["']|\brequire\s*\(\s*["']([^"']+)["']/g,
  ))
    found.push((m[1] ?? m[2] ?? m[3])!);
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.[cm]?[jt]s$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

describe("the agent's and the task package's dependencies", () => {
  for (const name of GUARDED) {
    it(`@tessera/${name}'s package.json declares no Lambda stack`, () => {
      const pkg = JSON.parse(readFileSync(join(packages, name, "package.json"), "utf8")) as Record<
        string,
        Record<string, string> | undefined
      >;
      const declared = [
        "dependencies",
        "devDependencies",
        "peerDependencies",
        "optionalDependencies",
      ].flatMap((field) => Object.keys(pkg[field] ?? {}));
      expect(declared).toContain("@tessera/core");
      expect(declared.filter(forbidden)).toEqual([]);
    });

    it(`packages/${name}/src imports no Lambda stack, nor another package's files`, () => {
      const root = join(packages, name);
      const files = sourceFiles(join(root, "src"));
      const imports = files.flatMap((file) =>
        specifiersOf(readFileSync(file, "utf8")).map((specifier) => ({
          file: relative(packages, file),
          specifier,
        })),
      );
      // The scan sees imports at all (a broken pattern would pass every file).
      expect(imports.some((i) => i.specifier === "@tessera/core")).toBe(true);
      const outside = (file: string, specifier: string) =>
        specifier.startsWith(".") &&
        relative(root, resolve(dirname(join(packages, file)), specifier)).startsWith("..");
      expect(imports.filter((i) => forbidden(i.specifier) || outside(i.file, i.specifier))).toEqual([]);
    });
  }

  it("recognizes every form of import it guards against", () => {
    const code = [
      `import { defineTask } from "@tessera/functions";`,
      `export { x } from '@middy/core';`,
      `const t = await import("@aws-lambda-powertools/tracer");`,
      `import "@tessera/functions/entries/api";`,
      `const r = require("@middy/http-router");`,
    ].join("\n");
    expect(specifiersOf(code).filter(forbidden)).toHaveLength(5);
  });
});
