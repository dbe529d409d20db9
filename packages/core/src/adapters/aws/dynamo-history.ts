/**
 * History snapshots as table items: one small item per snapshot (about 100 bytes, one write
 * unit), keyed by the session and the snapshot's time, so a read of the newest N is one Query.
 */
import type { HistoryPoint } from "../../engine/history.ts";
import { historyPk, historySk } from "../../engine/keys.ts";
import type { SessionKey } from "../../model/records.ts";
import type { Item } from "./dynamo-items.ts";

/** The item of a snapshot (short attribute names: the item is billed by its size). */
export function historyToItem(session: SessionKey, p: HistoryPoint): Item {
  return {
    pk: historyPk(session),
    sk: historySk(p.at),
    at: p.at,
    n: p.total,
    q: p.queued,
    r: p.running,
    s: p.succeeded,
    f: p.failed,
    c: p.cancelled,
  };
}

/** The snapshot an item holds. */
export function itemToHistory(item: Item): HistoryPoint {
  return {
    at: item.at as number,
    total: item.n as number,
    queued: item.q as number,
    running: item.r as number,
    succeeded: item.s as number,
    failed: item.f as number,
    cancelled: item.c as number,
  };
}
