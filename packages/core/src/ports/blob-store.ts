/** Payloads and results too large or too many for a record: S3 in production. */
export interface BlobStore {
  put(key: string, body: string): Promise<void>;
  /** The blob's content, or `undefined` when there is none. */
  get(key: string): Promise<string | undefined>;
}
