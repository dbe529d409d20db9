/** Payloads and results too large or too many for a record: S3 in production. */
export interface BlobStore {
  put(key: string, body: string): Promise<void>;
  /** The blob's content, or `undefined` when there is none. */
  get(key: string): Promise<string | undefined>;
  /** The blob's size in bytes, or `undefined` when there is none. */
  sizeOf(key: string): Promise<number | undefined>;
  /**
   * A link that lets its holder upload (`PUT`) or download (`GET`) one blob for `seconds`,
   * without credentials: how large payloads and results bypass the API. The in-memory store's
   * links are `memory:` URLs that only it resolves.
   */
  link(key: string, method: "PUT" | "GET", seconds: number): Promise<string>;
}
