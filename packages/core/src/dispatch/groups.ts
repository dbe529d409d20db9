import type { SessionKey } from "../model/records.ts";
import type { GridPorts } from "./grid-ports.ts";

/** Directory entries read per call. */
const DIRECTORY_PAGE = 1_000;

/**
 * The key groups of a session that hold chunks, in order, from its group directory (strongly
 * consistent: a group is listed from the write that created it). Walks only groups that exist,
 * so the work follows the data, never the highest task index.
 */
export async function* sessionGroups(
  ports: GridPorts,
  key: SessionKey,
  after?: number,
): AsyncGenerator<number> {
  let from = after;
  for (;;) {
    const page = await ports.store.listGroups(key, from, DIRECTORY_PAGE);
    yield* page.groups;
    if (page.next === undefined) return;
    from = page.next;
  }
}

/** Every group of a session (see {@link sessionGroups}). */
export async function listSessionGroups(ports: GridPorts, key: SessionKey): Promise<number[]> {
  const groups: number[] = [];
  for await (const g of sessionGroups(ports, key)) groups.push(g);
  return groups;
}
