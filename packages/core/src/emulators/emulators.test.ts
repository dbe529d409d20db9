import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ErrorCode } from "../errors.ts";
import { checkJava } from "./dynamodb-local.ts";

describe("emulator start-up checks", () => {
  it("names the missing Java in one clear line", () => {
    let error: unknown;
    try {
      checkJava({ PATH: "/nonexistent" });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: ErrorCode.EMULATOR });
    expect((error as Error).message).toMatch(/needs Java 17 or newer, and `java` was not found on PATH/);
    expect((error as Error).message).not.toContain("\n");
  });

  it("accepts the Java on this machine", () => {
    expect(() => checkJava()).not.toThrow();
  });

  it("makes npm test stop with that line, without a stack trace, when Java is missing", () => {
    const node = process.execPath;
    const r = spawnSync(node, ["scripts/test.ts"], {
      env: { PATH: "/nonexistent" },
      encoding: "utf8",
      cwd: `${import.meta.dirname}/../../../..`,
    });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(/^✗ DynamoDB Local needs Java 17/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
