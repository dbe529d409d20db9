import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig, poolRoles } from "./config.ts";

const dir = () => mkdtempSync(join(tmpdir(), "tessera-config-"));

describe("local grid configuration", () => {
  it("needs no file: every field has a default, paths resolve against the directory", () => {
    const cwd = dir();
    const config = loadConfig(cwd, {});
    expect(config).toMatchObject({ port: 8787, prefix: "local", pools: ["default"], agents: { count: 1 } });
    expect(config.dataDir).toBe(join(cwd, ".tessera"));
    expect(config.tasks[0]).toBe(join(cwd, "examples/echo.ts"));
  });

  it("reads tessera.local.json, and environment variables win over it", () => {
    const cwd = dir();
    writeFileSync(
      join(cwd, "tessera.local.json"),
      JSON.stringify({ port: 9000, agents: { count: 3, concurrency: 8 } }),
    );
    const config = loadConfig(cwd, { TESSERA_LOCAL_AGENTS: "2", TESSERA_LOCAL_SAMPLE_TASKS: "0" });
    expect(config).toMatchObject({ port: 9000, agents: { count: 2, concurrency: 8 }, sample: { tasks: 0 } });
  });

  it.each([
    [{ agents: { count: -1 } }, {}, /^config\.agents\.count: /],
    [{ port: "80" }, {}, /^config\.port: /],
    [{ agnets: 2 }, {}, /^config: .*agnets/],
    [{}, { TESSERA_LOCAL_PORT: "eighty" }, /^config\.port: /],
    [{ tokens: { short: "acme" } }, {}, /^config\.tokens\.short: /],
  ])("names the bad field: %j %j", (file, env, message) => {
    const cwd = dir();
    writeFileSync(join(cwd, "tessera.local.json"), JSON.stringify(file));
    expect(() => loadConfig(cwd, env)).toThrow(message);
  });

  it("says when the file is not JSON or a named file is missing", () => {
    const cwd = dir();
    writeFileSync(join(cwd, "tessera.local.json"), "{ port: 1 }");
    expect(() => loadConfig(cwd, {})).toThrow(/tessera\.local\.json: not valid JSON/);
    expect(() => loadConfig(dir(), { TESSERA_LOCAL_CONFIG: "nope.json" })).toThrow(
      /nope\.json, which does not exist/,
    );
  });

  it("leaves an external pool to external agents, even when the fleet's list names it", () => {
    const cwd = dir();
    writeFileSync(join(cwd, "tessera.local.json"), JSON.stringify({ externalPools: ["batch", "gpu"] }));
    expect(poolRoles(loadConfig(cwd, {}))).toEqual({
      all: ["default", "batch", "gpu"],
      workers: ["default"],
      fleet: [],
      external: ["batch", "gpu"],
      warm: [],
    });
    writeFileSync(join(cwd, "tessera.local.json"), JSON.stringify({ externalPools: ["bad pool"] }));
    expect(() => loadConfig(cwd, {})).toThrow(/config\.externalPools\[0\]/);
  });

  it("gives a warm-worker pool to its workers only, and names a bad one's field", () => {
    const cwd = dir();
    const py = { command: "python3 -m tessera.worker examples/python_pricing.py" };
    writeFileSync(
      join(cwd, "tessera.local.json"),
      JSON.stringify({ pools: ["default", "py"], workerPools: { py, gpu: { ...py, concurrency: 3 } } }),
    );
    const config = loadConfig(cwd, {});
    expect(config.workerPools).toEqual({ py: { ...py, concurrency: 2 }, gpu: { ...py, concurrency: 3 } });
    expect(poolRoles(config)).toEqual({
      all: ["default", "py", "batch", "gpu"],
      workers: ["default"],
      fleet: ["batch"],
      external: [],
      warm: ["py", "gpu"],
    });
    writeFileSync(join(cwd, "tessera.local.json"), JSON.stringify({ workerPools: { py: { command: " " } } }));
    expect(() => loadConfig(cwd, {})).toThrow(/^config\.workerPools\.py\.command: /);
  });
});
