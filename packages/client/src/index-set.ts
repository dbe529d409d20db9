/**
 * A set of task indexes in about one bit per task: one 512-byte block per 4,096 indexes (a key
 * group), allocated on first use. A million delivered results take 125 KB.
 */
const BLOCK = 4096;

export class IndexSet {
  readonly #blocks = new Map<number, Uint8Array>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  has(index: number): boolean {
    const block = this.#blocks.get(Math.floor(index / BLOCK));
    const bit = index % BLOCK;
    return block !== undefined && (block[bit >> 3]! & (1 << (bit & 7))) !== 0;
  }

  /** Adds `index`; returns false when it was already there. */
  add(index: number): boolean {
    const key = Math.floor(index / BLOCK);
    let block = this.#blocks.get(key);
    if (!block) {
      block = new Uint8Array(BLOCK / 8);
      this.#blocks.set(key, block);
    }
    const bit = index % BLOCK;
    const mask = 1 << (bit & 7);
    if (block[bit >> 3]! & mask) return false;
    block[bit >> 3] = (block[bit >> 3] ?? 0) | mask;
    this.#size++;
    return true;
  }
}
