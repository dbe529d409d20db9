/** The Dockerfile and Kubernetes manifests agree with the agent and the grid's definitions. */
import { readFileSync } from "node:fs";
import { defineGrid } from "@tessera/core";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";

const read = (path: string) => readFileSync(new URL(path, import.meta.url), "utf8");
// biome-ignore lint/suspicious/noExplicitAny: manifests are free-form; each test checks its fields
const docs = parseAllDocuments(read("../k8s/agent.yaml")).map((d) => d.toJS() as Record<string, any>);
const byKind = (kind: string) => docs.find((d) => d.kind === kind)!;

describe("agent deployment files", () => {
  it("gives the agent more time to drain than its own grace period", () => {
    const pod = byKind("Deployment").spec.template.spec;
    const args: string[] = pod.containers[0].args;
    const grace = Number(args[args.indexOf("--grace") + 1]);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(grace);
    expect(pod.securityContext.runAsNonRoot).toBe(true);
  });

  it("scales the Deployment from zero on every priority queue of the pool", () => {
    const scaled = byKind("ScaledObject").spec;
    expect(scaled.scaleTargetRef.name).toBe(byKind("Deployment").metadata.name);
    expect(scaled.minReplicaCount).toBe(0);
    const config = byKind("ConfigMap").data;
    const grid = defineGrid({ prefix: config.TESSERA_PREFIX, pools: config.TESSERA_POOLS.split(",") });
    const expected = grid.queues.map((q) => `${config.TESSERA_QUEUE_URL_BASE}/${q.physicalName}`).sort();
    expect(
      scaled.triggers.map((t: { metadata: { queueURL: string } }) => t.metadata.queueURL).sort(),
    ).toEqual(expected);
  });

  it("gives the agent every setting the stack gives its EC2 agents", async () => {
    // What infra/functions.ts puts in the functions' (and so the EC2 agents') environment.
    const infra = readFileSync(new URL("../../../infra/functions.ts", import.meta.url), "utf8");
    const block = infra.slice(
      infra.indexOf("const environment = {"),
      infra.indexOf("};", infra.indexOf("const environment = {")),
    );
    const names = [...block.matchAll(/^\s+(TESSERA_[A-Z_]+):/gm)].map((m) => m[1]!);
    expect(names).toContain("TESSERA_BUCKET");
    const config = byKind("ConfigMap").data;
    for (const name of names) expect(config, name).toHaveProperty(name);
    // What infra/agents.ts adds for the agents: their task log group (infra/task-logs.ts).
    expect(config.TESSERA_TASK_LOG_GROUP).toBe(`/tessera/${config.TESSERA_PREFIX}/agent-tasks`);
  });

  it("lets KEDA read the queues with the agent's role, which alone may read them", () => {
    // identityOwner defaults to keda: the operator's own role, which cannot read the queues, so
    // the Deployment would never scale from zero.
    const auth = byKind("TriggerAuthentication");
    expect(auth.spec.podIdentity).toEqual({ provider: "aws", identityOwner: "workload" });
    const scaled = byKind("ScaledObject").spec;
    for (const t of scaled.triggers) expect(t.authenticationRef.name).toBe(auth.metadata.name);
    expect(byKind("Deployment").spec.template.spec.serviceAccountName).toBe(
      byKind("ServiceAccount").metadata.name,
    );
  });

  it("builds a non-root, multi-stage image whose entry is the agent CLI", () => {
    const dockerfile = read("../Dockerfile");
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toContain('"packages/agent/src/cli.ts"');
    expect(dockerfile).toContain("--omit=dev");
    // Every workspace the agent depends on is in the image, manifest and sources.
    const pkg = JSON.parse(read("../package.json")) as { dependencies: Record<string, string> };
    for (const dep of Object.keys(pkg.dependencies).filter((d) => d.startsWith("@tessera/"))) {
      const dir = `packages/${dep.slice("@tessera/".length)}`;
      expect(dockerfile, dep).toContain(`COPY packages/${dir.slice(9)}/package.json ${dir}/`);
      expect(dockerfile, dep).toContain(`COPY --chown=node:node ${dir}/src ${dir}/src`);
    }
    expect(dockerfile).toMatch(/^ENTRYPOINT \["tini", "--", "node"/m);
  });
});
