import { EC2Client } from "@aws-sdk/client-ec2";
import { Ec2Fleet, LOCAL_CREDENTIALS } from "@tessera/core/aws";
import { startFakeEc2 } from "@tessera/core/testing";
import { describe, expect, it } from "vitest";
import type { AgentStats } from "../src/agent.ts";
import { reportEc2Status, statusTags } from "../src/ec2-status.ts";
import { startFakeImds } from "./fake-imds.ts";

const stats = (s: Partial<AgentStats>): AgentStats => ({
  state: "running",
  owner: "agent:x",
  pools: ["batch"],
  concurrency: 4,
  heldLeases: 0,
  runningTasks: 0,
  tasksStarted: 0,
  tasksSucceeded: 0,
  tasksFailed: 0,
  tasksReleased: 0,
  leasesLost: 0,
  startedAt: "2026-11-24T10:00:00.000Z",
  ...s,
});

describe("agent status on its EC2 instance", () => {
  it("tags its instance so the scaler sees it idle, busy, then draining; writes only on a change", async () => {
    const ec2Fake = await startFakeEc2({ subnets: { "subnet-a": "us-east-1a" } });
    const imds = await startFakeImds();
    const ec2 = new EC2Client({
      endpoint: ec2Fake.endpoint,
      region: "us-east-1",
      credentials: LOCAL_CREDENTIALS,
    });
    try {
      const fleet = new Ec2Fleet({
        ec2,
        grid: "g1",
        pools: {
          batch: {
            launchTemplateId: "lt-1",
            subnets: [{ id: "subnet-a", zone: "us-east-1a" }],
            vcpu: [4, 4],
            memoryGiB: [8, 8],
            arch: "arm64",
            spot: false,
          },
        },
      });
      const [id] = (await fleet.launch("batch", 1)).launched;
      ec2Fake.instances.get(id!)!.state = "running";
      imds.instanceId = id!;
      expect(await fleet.list("batch")).toMatchObject([{ id, state: "launching" }]); // booting

      let now = stats({ idleSince: "2026-11-24T10:00:05.000Z" });
      const end = await reportEc2Status({ stats: () => now, imdsEndpoint: imds.endpoint, ec2, everyMs: 20 });
      expect(await fleet.list("batch")).toMatchObject([
        { id, state: "running", busy: 0, idleSince: Date.parse("2026-11-24T10:00:05Z") },
      ]);
      const tagWrites = () => ec2Fake.requests.filter((r) => r.action === "CreateTags").length;
      const until = async (check: () => Promise<boolean>) => {
        for (let i = 0; i < 200 && !(await check()); i++) await new Promise((r) => setTimeout(r, 20));
      };
      now = stats({ runningTasks: 3, heldLeases: 3 });
      await until(async () => (await fleet.list("batch"))[0]!.busy === 3);
      expect(await fleet.list("batch")).toMatchObject([{ state: "running", busy: 3, idleSince: undefined }]);
      const writes = tagWrites();
      now = stats({ runningTasks: 2, heldLeases: 2 }); // still busy: no write
      await new Promise((r) => setTimeout(r, 120));
      expect(tagWrites()).toBe(writes);
      now = stats({ state: "draining", runningTasks: 2, heldLeases: 2 });
      await end();
      const [drained] = await fleet.list("batch");
      expect(drained).toMatchObject({ id, state: "stopping" });
      expect(Date.now() - drained!.drainingSince!).toBeLessThan(10_000);
    } finally {
      ec2.destroy();
      await imds.close();
      await ec2Fake.close();
    }
  });

  it("says idle since its start when it never ran a task", () => {
    expect(statusTags(stats({})).tags["tessera:idle-since"]).toBe("2026-11-24T10:00:00.000Z");
    expect(statusTags(stats({ heldLeases: 1 }))).toMatchObject({
      key: "running:busy",
      tags: { "tessera:busy": "1" },
    });
  });
});
