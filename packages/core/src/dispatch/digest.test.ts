import { describe, expect, it } from "vitest";
import { workDigest } from "./digest.ts";

describe("work digest", () => {
  it("tells apart any two different payloads, lone surrogates included", () => {
    const d = (p: string | null, handler?: string, ref?: string) => workDigest(handler, [p], ref);
    expect(d("\ud800")).not.toBe(d("\udc00"));
    expect(d("\ud800")).not.toBe(d("\ufffd"));
    expect(d(null)).not.toBe(d(""));
    expect(d("x", "a")).not.toBe(d("x", "b"));
    expect(d("x")).not.toBe(d("x", undefined, "5f0c8a52-3c3e-4c55-9d0e-1b1f3d7c2a10"));
    expect(workDigest(undefined, ["ab", "c"], undefined)).not.toBe(
      workDigest(undefined, ["a", "bc"], undefined),
    );
    expect(d("same")).toBe(d("same"));
  });
});
