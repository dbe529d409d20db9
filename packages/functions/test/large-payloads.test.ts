import { defineTask } from "@tessera/task";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { type Harness, harness } from "./harness.ts";

const BIG = 300 * 1024;

/** Reports the size of its input and returns a result of the size asked for. */
const sizes = defineTask(
  "sizes",
  z.object({ blob: z.string(), want: z.number().int() }),
  ({ blob, want }) => ({
    got: blob.length,
    out: "r".repeat(want),
  }),
);

describe("large payloads and results through presigned S3 links", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness([sizes]);
    await h.call("POST", "/sessions", { body: { sessionId: "big" } });
  });
  afterAll(() => h.close());

  it("uploads a payload to a link, runs the task from it, and hands a large result back as a link", async () => {
    const links = await h.call("POST", "/sessions/big/uploads", { body: { count: 2 } });
    expect(links.status).toBe(201);
    expect(links.body.uploads).toHaveLength(2);
    const [upload] = links.body.uploads as { ref: string; url: string }[];
    const payload = JSON.stringify({ blob: "p".repeat(2 * 1024 * 1024), want: BIG });
    const put = await fetch(upload!.url, { method: "PUT", body: payload });
    expect(put.status).toBe(200);

    const submitted = await h.call("POST", "/sessions/big/tasks", {
      body: {
        handler: "sizes",
        tasks: [
          { index: 0, payloadRef: upload!.ref },
          { index: 1, payload: JSON.stringify({ blob: "small", want: 3 }) },
        ],
      },
    });
    expect(submitted.body).toMatchObject({ created: 2, chunks: 2 });
    await h.deliver();

    const page = await h.call("GET", "/sessions/big/results");
    const byId = new Map(page.body.results.map((r: { taskId: string }) => [r.taskId, r]));
    const small = byId.get("1") as { result: string; resultUrl?: string };
    expect(JSON.parse(small.result)).toEqual({ got: 5, out: "rrr" });
    expect(small.resultUrl).toBeUndefined();
    const large = byId.get("0") as { result?: string; resultUrl: string };
    expect(large.result).toBeUndefined();
    const download = await fetch(large.resultUrl);
    expect(download.status).toBe(200);
    const body = JSON.parse(await download.text());
    expect(body.got).toBe(2 * 1024 * 1024);
    expect(body.out).toHaveLength(BIG);

    const task = await h.call("GET", "/sessions/big/tasks/0");
    expect(task.body).toMatchObject({ status: "SUCCEEDED" });
    expect(task.body.resultUrl).toMatch(/^http/);
  });

  it.each([
    ["an upload id that was never used", { index: 5, payloadRef: "00000000-0000-4000-8000-000000000000" }],
    ["an upload id that is not one", { index: 5, payloadRef: "../../other-tenant/x" }],
    [
      "both a payload and an upload",
      { index: 5, payload: "{}", payloadRef: "00000000-0000-4000-8000-000000000000" },
    ],
  ])("rejects %s, naming the field", async (_name, task) => {
    const response = await h.call("POST", "/sessions/big/tasks", { body: { tasks: [task] } });
    expect(response.status).toBe(400);
    expect(response.body.error.field).toBe("tasks[0].payloadRef");
  });

  it("does not hand out links for a session that is not open, or another tenant's", async () => {
    await h.call("POST", "/sessions", { body: { sessionId: "shut" } });
    await h.call("POST", "/sessions/shut/close");
    expect((await h.call("POST", "/sessions/shut/uploads", { body: {} })).status).toBe(409);
    expect((await h.call("POST", "/sessions/big/uploads", { as: "globex", body: {} })).status).toBe(404);
  });
});
