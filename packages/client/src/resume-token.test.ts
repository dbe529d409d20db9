import { describe, expect, it } from "vitest";
import { decodeResumeToken, encodeResumeToken, type ResumePoint } from "./resume-token.ts";

describe("resume tokens", () => {
  it.each<[string, ResumePoint, string | undefined]>([
    ["the start", { apiCursor: undefined, skip: new Set() }, undefined],
    ["a page boundary", { apiCursor: "AwGq_-9", skip: new Set() }, "AwGq_-9"],
    ["the middle of the first page", { apiCursor: undefined, skip: new Set([0, 1, 2]) }, "tr1.AwABAQ."],
    ["the middle of a later page", { apiCursor: "AwGq", skip: new Set([7]) }, "tr1.AQc.AwGq"],
  ])("encodes %s compactly and decodes it back", (_, point, token) => {
    expect(encodeResumeToken(point)).toBe(token);
    expect(decodeResumeToken(token)).toEqual(point);
  });

  it("round-trips unsorted, sparse and the largest task indexes in about a byte per close index", () => {
    const skip = new Set([999_999_999_999, 5, 4_096, 6, 0, 2 ** 31 + 3]);
    const token = encodeResumeToken({ apiCursor: "c", skip })!;
    expect(decodeResumeToken(token)).toEqual({
      apiCursor: "c",
      skip: new Set([...skip].sort((a, b) => a - b)),
    });
    const dense = encodeResumeToken({
      apiCursor: "c",
      skip: new Set(Array.from({ length: 999 }, (_, i) => i)),
    })!;
    expect(dense.length).toBeLessThan(1_400);
  });

  it.each([
    ["tr1.AYCglKWNHQ.c", "index out of range"], // 10^12
    ["tr1.AgEA.c", "repeated index"],
    ["tr1.AA.c", "bad index count"],
    ["tr1.AYCAgICAgICAAQ.c", "too large"],
  ])("rejects %s (%s)", (token, why) => {
    expect(() => decodeResumeToken(token)).toThrow(why);
  });
});
