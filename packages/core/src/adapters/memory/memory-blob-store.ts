import type { BlobStore } from "../../ports/blob-store.ts";

/** Blobs in a Map. */
export class MemoryBlobStore implements BlobStore {
  readonly #blobs = new Map<string, string>();

  async put(key: string, body: string): Promise<void> {
    this.#blobs.set(key, body);
  }

  async get(key: string): Promise<string | undefined> {
    return this.#blobs.get(key);
  }

  /** Number of stored blobs. */
  get size(): number {
    return this.#blobs.size;
  }
}
