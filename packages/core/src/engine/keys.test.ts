import { describe, expect, it } from "vitest";
import { Limits } from "../model/limits.ts";
import {
  ACTIVE_SHARDS,
  activePk,
  activeShardPk,
  chunkPk,
  chunkSk,
  completionPk,
  completionSk,
  deadLetterQueueOf,
  fnv1a,
  groupOf,
  groupStart,
  pad,
  payloadBlobKey,
  queueNameOf,
  resultsBlobKey,
  SESSION_SK,
  sessionPk,
} from "./keys.ts";

const key = { tenant: "acme", sessionId: "s1" };

describe("pad", () => {
  it.each([
    { value: 0, width: 3, text: "000" },
    { value: 7, width: 3, text: "007" },
    { value: 999, width: 3, text: "999" },
    { value: 1_234, width: 3, text: "1234" },
    { value: 4_096, width: 12, text: "000000004096" },
    { value: 999_999_999_999, width: 12, text: "999999999999" },
    { value: 1_700_000_000_000, width: 13, text: "1700000000000" },
  ])("pad($value, $width) = $text", ({ value, width, text }) => {
    expect(pad(value, width)).toBe(text);
  });
});

describe("key groups", () => {
  it("hold 4096 tasks", () => {
    expect(Limits.GROUP_SIZE).toBe(4_096);
  });

  it.each([
    { index: 0, group: 0 },
    { index: 1, group: 0 },
    { index: 4_095, group: 0 },
    { index: 4_096, group: 1 },
    { index: 8_191, group: 1 },
    { index: 8_192, group: 2 },
    { index: 999_999_999_999, group: 244_140_624 },
  ])("task $index is in group $group", ({ index, group }) => {
    expect(groupOf(index)).toBe(group);
    expect(groupStart(group)).toBeLessThanOrEqual(index);
    expect(groupStart(group + 1)).toBeGreaterThan(index);
  });

  it.each([
    { group: 0, start: 0 },
    { group: 1, start: 4_096 },
    { group: 3, start: 12_288 },
  ])("group $group starts at $start", ({ group, start }) => {
    expect(groupStart(group)).toBe(start);
    expect(groupOf(start)).toBe(group);
    if (start > 0) expect(groupOf(start - 1)).toBe(group - 1);
  });
});

describe("key layout", () => {
  it.each([
    { name: "session pk", actual: () => sessionPk(key), text: "T#acme#S#s1" },
    { name: "session sk", actual: () => SESSION_SK, text: "#SESSION" },
    { name: "chunk pk", actual: () => chunkPk(key, 3), text: "T#acme#S#s1#G#3" },
    { name: "chunk sk", actual: () => chunkSk(4_096), text: "C#000000004096" },
    { name: "completion pk", actual: () => completionPk(key, 0), text: "T#acme#S#s1#R#0" },
    {
      name: "completion sk",
      actual: () => completionSk(1_700_000_000_000, 4_096, 7),
      text: "1700000000000#000000004096#007",
    },
    {
      name: "payload blob",
      actual: () => payloadBlobKey({ ...key, start: 64 }, "AbC-_9"),
      text: "t/acme/s/s1/p/000000000064-AbC-_9.json",
    },
    {
      name: "results blob",
      actual: () => resultsBlobKey(key, completionSk(5, 64, 2)),
      text: "t/acme/s/s1/r/0000000000005-000000000064-002.json",
    },
    { name: "queue", actual: () => queueNameOf("gpu", "high"), text: "gpu-high" },
    { name: "dead-letter queue", actual: () => deadLetterQueueOf("gpu-high"), text: "gpu-high-dlq" },
    { name: "active shard", actual: () => activeShardPk(5), text: "A#5" },
  ])("$name = $text", ({ actual, text }) => {
    expect(actual()).toBe(text);
  });

  it("keeps chunks and completion entries of a group in different partitions", () => {
    expect(chunkPk(key, 1)).not.toBe(completionPk(key, 1));
  });
});

describe("completionSk", () => {
  // (committedAt, chunkStart, seq) in chronological order, then by chunk, then by sequence.
  const ordered: [number, number, number][] = [
    [5, 9_999, 999],
    [999, 0, 0],
    [1_000, 0, 0],
    [1_000, 9, 0],
    [1_000, 10, 0],
    [1_000, 10, 1],
    [1_000, 10, 10],
    [1_000, 4_096, 0],
    [1_699_999_999_999, 999_999_999_999, 999],
    [1_700_000_000_000, 0, 0],
    [9_999_999_999_999, 0, 0],
  ];

  it("sorts lexicographically in commit-time order", () => {
    const keys = ordered.map(([t, s, q]) => completionSk(t, s, q));
    const shuffled = [...keys].reverse();
    shuffled.push(shuffled.shift()!);
    expect([...shuffled].sort()).toEqual(keys);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it.each(ordered.slice(1).map((later, i) => ({ earlier: ordered[i]!, later })))(
    "$earlier sorts before $later",
    ({ earlier, later }) => {
      const a = completionSk(...earlier);
      const b = completionSk(...later);
      expect(a < b).toBe(true);
      expect(a.length).toBe(b.length);
    },
  );
});

describe("fnv1a", () => {
  // Published FNV-1a 32-bit vectors, re-checked with an independent implementation
  // (Python, multiplying modulo 2^32 over the UTF-8 bytes).
  it.each([
    { text: "", hash: 0x811c9dc5 },
    { text: "a", hash: 0xe40c292c },
    { text: "foobar", hash: 0xbf9cf968 },
    { text: "acme#s1", hash: 0x03ae094c },
  ])("fnv1a($text) = $hash", ({ text, hash }) => {
    expect(fnv1a(text)).toBe(hash);
  });

  it("is an unsigned 32-bit integer", () => {
    for (const text of ["x", "tenant#session", "ä", "a".repeat(1_000)]) {
      const hash = fnv1a(text);
      expect(Number.isInteger(hash)).toBe(true);
      expect(hash).toBeGreaterThanOrEqual(0);
      expect(hash).toBeLessThan(2 ** 32);
    }
  });
});

describe("activePk", () => {
  const sessions = Array.from({ length: 400 }, (_, i) => ({ tenant: `t${i % 7}`, sessionId: `s-${i}` }));

  it("is the tenant-and-session hash modulo the shard count", () => {
    expect(ACTIVE_SHARDS).toBe(8);
    expect(activePk(key)).toBe("A#4"); // 0x03ae094c % 8 = 4
    for (const s of sessions) expect(activePk(s)).toBe(`A#${fnv1a(`${s.tenant}#${s.sessionId}`) % 8}`);
  });

  it("stays within A#0..A#7 and spreads sessions over every shard", () => {
    const counts = new Map<string, number>();
    for (const s of sessions) {
      const pk = activePk(s);
      expect(pk).toMatch(/^A#[0-7]$/);
      counts.set(pk, (counts.get(pk) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(
      Array.from({ length: ACTIVE_SHARDS }, (_, i) => activeShardPk(i)),
    );
    // No shard takes more than twice its fair share.
    for (const n of counts.values()) expect(n).toBeLessThan((2 * sessions.length) / ACTIVE_SHARDS);
  });

  it("is stable for a session", () => {
    expect(activePk({ tenant: "acme", sessionId: "s1" })).toBe(activePk(key));
  });
});
