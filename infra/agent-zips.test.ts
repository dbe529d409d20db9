import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { pruneAgentZips } from "./agents.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("agent zips", () => {
  it("keeps the current zip and the four newest others, removing older builds", () => {
    const dir = mkdtempSync(join(tmpdir(), "tessera-zips-"));
    dirs.push(dir);
    const at = (n: number) => new Date(1_800_000_000_000 + n * 1_000);
    // Seven earlier builds (z0 oldest), and the current one, older than all (a redeploy of old code).
    for (let n = 0; n < 7; n++) {
      writeFileSync(join(dir, `z${n}.zip`), "");
      utimesSync(join(dir, `z${n}.zip`), at(n + 10), at(n + 10));
    }
    writeFileSync(join(dir, "current.zip"), "");
    utimesSync(join(dir, "current.zip"), at(0), at(0));
    writeFileSync(join(dir, "notes.txt"), "");
    pruneAgentZips(dir, join(dir, "current.zip"));
    expect(readdirSync(dir).sort()).toEqual([
      "current.zip",
      "notes.txt",
      "z3.zip",
      "z4.zip",
      "z5.zip",
      "z6.zip",
    ]);
  });
});
