/**
 * Exactly as submitted, exactly once, on DynamoDB Local + fauxqs: concurrent and conflicting
 * submits of one session. Each test reproduces a defect found on the grid before the group lock
 * (issue 15, defects 1-3) and checks what is stored, what the callers were told and what the
 * tickets carry.
 */

import { TransactionConflictException } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { destroyAwsClients } from "../src/adapters/aws/clients.ts";
import { DynamoTaskStore } from "../src/adapters/aws/dynamo-task-store.ts";
import type { GridPorts } from "../src/dispatch/grid-ports.ts";
import { closeSession, createSession } from "../src/dispatch/sessions.ts";
import { type SubmitReport, submitTasks } from "../src/dispatch/submitter.ts";
import { groupOf } from "../src/engine/keys.ts";
import { ErrorCode, isGridError } from "../src/errors.ts";
import { Limits } from "../src/model/limits.ts";
import type { ChunkRecord } from "../src/model/records.ts";
import { decodeTicket } from "../src/model/ticket.ts";
import { type AwsTestGrid, awsTestGrid, emulatorClients } from "./aws-fixture.ts";

const QUEUE = "default-normal";
let shared: AwsTestGrid;
let ports: GridPorts;
let n = 0;

beforeAll(async () => {
  shared = await awsTestGrid();
  ports = shared.ports;
});
afterAll(() => shared.close());

async function session(config: Record<string, unknown> = {}) {
  const key = { tenant: "acme", sessionId: `s${n++}` };
  await createSession(ports, key.tenant, { sessionId: key.sessionId, config });
  return key;
}

function tasks(from: number, to: number, tag: string) {
  return Array.from({ length: to - from }, (_, i) => ({ index: from + i, payload: `${tag}${from + i}` }));
}

/** Every stored chunk of the session's groups, with its stored payloads. */
async function stored(key: { tenant: string; sessionId: string }) {
  const chunks: ChunkRecord[] = [];
  for (const g of (await ports.store.listGroups(key, undefined, 100)).groups)
    chunks.push(...(await ports.store.listChunks(key, g)));
  const payloads = new Map<number, string | null>();
  let count = 0;
  for (const c of chunks) {
    const blob = await ports.blobs.get(c.payloadKey);
    const list = blob === undefined ? [] : (JSON.parse(blob) as { payloads: (string | null)[] }).payloads;
    for (let i = 0; i < c.count; i++) {
      count++;
      payloads.set(c.start + i, list[i] ?? "<missing>");
    }
  }
  return { chunks, payloads, count };
}

async function settle<T>(p: Promise<T>): Promise<T | { code: string; field?: string; message: string }> {
  try {
    return await p;
  } catch (error) {
    if (isGridError(error)) return error as never;
    throw error;
  }
}

/** Drains the queue and returns the tickets' inline payloads per chunk start. */
async function drainTickets(): Promise<Map<number, Array<(string | null)[] | undefined>>> {
  const out = new Map<number, Array<(string | null)[] | undefined>>();
  for (;;) {
    const got = await ports.queue.receive(QUEUE, { max: 10, waitSeconds: 0, visibilitySeconds: 60 });
    if (got.length === 0) return out;
    for (const r of got) {
      const t = decodeTicket(r.body)!;
      out.set(t.start, [...(out.get(t.start) ?? []), t.payloads]);
    }
    await ports.queue.ack(
      QUEUE,
      got.map((r) => r.receipt),
    );
  }
}

describe("submit integrity on DynamoDB Local", () => {
  it("defect 1: two concurrent overlapping batches with other payloads never both land", async () => {
    const key = await session();
    await drainTickets();
    const [a, b] = await Promise.all([
      settle(submitTasks(ports, key, { tasks: tasks(0, 100, "a") })),
      settle(submitTasks(ports, key, { tasks: tasks(50, 150, "b") })),
    ]);
    const won = [a, b].filter((r) => "created" in r) as SubmitReport[];
    const lost = [a, b].filter((r) => !("created" in r));
    expect(won).toHaveLength(1);
    expect(lost).toEqual([expect.objectContaining({ code: ErrorCode.CONFLICT })]);
    const winner = won[0] === a ? "a" : "b";
    const { payloads, count } = await stored(key);
    expect(count).toBe(100); // no index stored twice
    for (const [index, payload] of payloads) expect(payload).toBe(`${winner}${index}`);
    const tickets = await drainTickets();
    for (const [start, sent] of tickets) {
      for (const inline of sent) if (inline) expect(inline[0]).toBe(`${winner}${start}`);
    }
  });

  it("defect 1: the same work sent concurrently in overlapping batches is stored once", async () => {
    const key = await session();
    const [a, b] = (await Promise.all([
      submitTasks(ports, key, { tasks: tasks(0, 100, "p") }),
      submitTasks(ports, key, { tasks: tasks(50, 150, "p") }),
    ])) as SubmitReport[];
    expect(a!.created + b!.created).toBe(150);
    expect(a!.existing + b!.existing).toBe(50);
    const { payloads, count } = await stored(key);
    expect(count).toBe(150);
    for (const [index, payload] of payloads) expect(payload).toBe(`p${index}`);
  });

  it("defect 2: batches racing from the same index: one stored, the other refused, no payload lost", async () => {
    const key = await session();
    await drainTickets();
    const [a, b] = await Promise.all([
      settle(submitTasks(ports, key, { tasks: tasks(0, 64, "a") })),
      settle(submitTasks(ports, key, { tasks: tasks(0, 10, "b") })),
    ]);
    const won = [a, b].filter((r) => "created" in r) as SubmitReport[];
    expect(won).toHaveLength(1);
    const winner = won[0] === a ? "a" : "b";
    expect(won[0]).toMatchObject({ created: winner === "a" ? 64 : 10, existing: 0 });
    const loser = won[0] === a ? b : a;
    expect(loser).toMatchObject({ code: ErrorCode.CONFLICT, field: "tasks[0]" });
    const { payloads, count } = await stored(key);
    expect(count).toBe(winner === "a" ? 64 : 10);
    // The winner's payload blob is intact: a loser writes its own (digest-named) blob.
    for (const [index, payload] of payloads) expect(payload).toBe(`${winner}${index}`);
  });

  it("defect 3: the same indexes with another payload or handler are refused, naming the first index", async () => {
    const key = await session();
    await submitTasks(ports, key, { tasks: tasks(0, 100, "A") });
    await drainTickets();
    const changed = tasks(0, 100, "A");
    changed[37] = { index: 37, payload: "B37" };
    changed[80] = { index: 80, payload: "B80" };
    const error = await settle(submitTasks(ports, key, { tasks: changed }));
    expect(error).toMatchObject({ code: ErrorCode.CONFLICT, field: "tasks[37]" });
    expect((error as { message: string }).message).toContain("task 37");
    expect(
      await settle(submitTasks(ports, key, { handler: "other", tasks: tasks(0, 100, "A") })),
    ).toMatchObject({ code: ErrorCode.CONFLICT, field: "tasks[0]" });
    expect(await drainTickets()).toEqual(new Map()); // nothing sent for refused work
    // The same work again is existing, and its never-claimed chunks' tickets carry the stored payloads.
    expect(await submitTasks(ports, key, { tasks: tasks(0, 100, "A") })).toMatchObject({
      created: 0,
      existing: 100,
    });
    const tickets = await drainTickets();
    expect([...tickets.keys()].sort((x, y) => x - y)).toEqual([0, 64]);
    expect(tickets.get(0)?.[0]?.[37]).toBe("A37");
    const { payloads } = await stored(key);
    expect(payloads.get(37)).toBe("A37");
  });

  it("spreads a batch over sparse groups, and refuses a submit once the close sealed them", async () => {
    const key = await session({ chunkMaxTasks: 1 });
    const far = Limits.MAX_TASK_INDEX - 1;
    // 200 one-task chunks in group 0: more than one transaction under the group's lock.
    await submitTasks(ports, key, { tasks: [...tasks(0, 200, "x"), { index: far, payload: "far" }] });
    expect((await ports.store.listGroups(key, undefined, 10)).groups).toEqual([0, groupOf(far)]);
    expect(await ports.store.getGroup(key, 0)).toMatchObject({ tasks: 200, sealed: false });
    await closeSession(ports, key);
    expect(await ports.store.getGroup(key, 0)).toMatchObject({ sealed: true });
    expect(await settle(submitTasks(ports, key, { tasks: tasks(200, 201, "x") }))).toMatchObject({
      code: ErrorCode.SESSION_NOT_OPEN,
    });
    expect((await ports.store.getSession(key))?.sealed).toBe(true);
  });

  it("a seal that an insert's transaction in flight kept out is tried again: no group stays open", async () => {
    const key = await session();
    await submitTasks(ports, key, { tasks: tasks(0, 10, "x") });
    // A real client whose first seal meets an insert's transaction on the group's lock (DynamoDB
    // Local serializes transactions, so the clash is injected where AWS would raise it).
    const clients = emulatorClients();
    let clashes = 0;
    clients.doc.middlewareStack.add(
      (next, _context) => async (args) => {
        const input = args.input as { UpdateExpression?: string };
        if (input.UpdateExpression?.startsWith("SET se") && clashes++ === 0)
          throw new TransactionConflictException({
            message: "Transaction is ongoing for the item",
            $metadata: {},
          });
        return next(args);
      },
      { step: "initialize", name: "clash-once" },
    );
    try {
      const store = new DynamoTaskStore(clients.doc, shared.grid.table.name);
      await closeSession({ ...ports, store }, key);
      expect(clashes).toBe(2);
      expect(await ports.store.getGroup(key, 0)).toMatchObject({ sealed: true });
      expect((await ports.store.getSession(key))?.sealed).toBe(true);
    } finally {
      destroyAwsClients(clients);
    }
  });
});
