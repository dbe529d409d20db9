import { createHash } from "node:crypto";

/**
 * Digest of the work of a chunk: its handler and, per task, its payload or upload id. Two
 * submits of the same indexes are the same work exactly when their chunks' digests are equal.
 * 96 bits of SHA-256, base64url (16 characters): small enough for every chunk record and
 * ticket, far beyond accidental collision.
 */
export function workDigest(
  handler: string | undefined,
  payloads: readonly (string | null)[],
  ref: string | undefined,
): string {
  // Length-prefixed fields, fed one by one (no copy of the chunk's payloads into one string).
  const hash = createHash("sha256");
  const field = (value: string | null) => {
    if (value === null) hash.update("-;");
    // UTF-16 code units, as JavaScript holds them: lossless (UTF-8 would fold lone surrogates).
    else hash.update(`${value.length}:`).update(value, "utf16le");
  };
  field(handler ?? null);
  field(ref ?? null);
  hash.update(`${payloads.length};`);
  for (const p of payloads) field(p);
  return hash.digest("base64url").slice(0, 16);
}
