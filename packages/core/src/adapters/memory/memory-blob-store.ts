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

  async sizeOf(key: string): Promise<number | undefined> {
    const blob = this.#blobs.get(key);
    return blob === undefined ? undefined : Buffer.byteLength(blob);
  }

  async link(key: string, method: "PUT" | "GET", seconds: number): Promise<string> {
    return `memory:${method}/${encodeURIComponent(key)}?expires=${seconds}`;
  }

  /** Number of stored blobs. */
  get size(): number {
    return this.#blobs.size;
  }
}
