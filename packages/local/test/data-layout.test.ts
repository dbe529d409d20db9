import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkLayout } from "../src/local-grid.ts";

function dataDir(withDatabase: boolean, marker?: string): string {
  const dir = mkdtempSync(join(tmpdir(), "tessera-layout-"));
  mkdirSync(join(dir, "dynamodb"));
  if (withDatabase)
    writeFileSync(join(dir, "dynamodb", "shared-local-instance.db"), "SQLite format 3\u0000…");
  if (marker) writeFileSync(join(dir, "layout"), marker);
  return dir;
}

describe("data directory layout", () => {
  it("marks a fresh directory with the current layout, silently", () => {
    const dir = dataDir(false);
    const lines: string[] = [];
    checkLayout(dir, (l) => lines.push(l));
    expect(lines).toEqual([]);
    expect(readFileSync(join(dir, "layout"), "utf8")).toBe("2");
  });

  it("says in one line that sessions of an older Tessera cannot be read, and keeps saying it", () => {
    const dir = dataDir(true);
    for (let run = 0; run < 2; run++) {
      const lines: string[] = [];
      checkLayout(dir, (l) => lines.push(l));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^warning: .* older Tessera \(layout 1\).*Move the directory away/);
    }
    expect(existsSync(join(dir, "layout"))).toBe(false);
  });

  it("accepts data written with the current layout", () => {
    const lines: string[] = [];
    checkLayout(dataDir(true, "2"), (l) => lines.push(l));
    expect(lines).toEqual([]);
  });
});
