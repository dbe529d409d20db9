/** The BlobStore contract, run against the memory store and S3 (fauxqs). */
import { describe, expect, it } from "vitest";
import type { BlobStore } from "./blob-store.ts";

/** Runs the BlobStore contract against stores made by `make`. */
export function blobStoreContract(name: string, make: () => Promise<BlobStore> | BlobStore): void {
  describe(`BlobStore contract: ${name}`, () => {
    it("round-trips UTF-8 text under slash-separated keys", async () => {
      const blobs = await make();
      const body = JSON.stringify({ payloads: ["héllo ✓", null, "x".repeat(70_000)] });
      await blobs.put("t/acme/s/s1/p/000000000000.json", body);
      expect(await blobs.get("t/acme/s/s1/p/000000000000.json")).toBe(body);
    });

    it("returns undefined for a missing blob", async () => {
      const blobs = await make();
      expect(await blobs.get("t/none/missing.json")).toBeUndefined();
    });

    it("replaces a blob written twice", async () => {
      const blobs = await make();
      await blobs.put("k/a", "one");
      await blobs.put("k/a", "two");
      expect(await blobs.get("k/a")).toBe("two");
    });
  });
}
