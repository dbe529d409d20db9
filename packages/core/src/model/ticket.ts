import { z } from "zod";
import type { ChunkKey } from "./records.ts";

/**
 * A ticket: the SQS message that tells a worker a chunk may be ready. It is only a hint
 * (DynamoDB holds the truth): it can be duplicated, delayed or lost without harm. When the
 * chunk's payloads are small they ride along, sparing the worker a blob read.
 */
export interface Ticket extends ChunkKey {
  count: number;
  /** The chunk's work digest: inline payloads are the chunk's own only if it matches the record's. */
  digest?: string | undefined;
  payloads?: (string | null)[] | undefined;
}

const TicketWire = z.object({
  v: z.literal(1),
  t: z.string().min(1),
  s: z.string().min(1),
  c: z.number().int().nonnegative(),
  n: z.number().int().positive(),
  d: z.string().optional(),
  p: z.array(z.string().nullable()).optional(),
});

/** Serializes a ticket to its message body. */
export function encodeTicket(ticket: Ticket): string {
  const wire: z.infer<typeof TicketWire> = {
    v: 1,
    t: ticket.tenant,
    s: ticket.sessionId,
    c: ticket.start,
    n: ticket.count,
  };
  if (ticket.digest !== undefined) wire.d = ticket.digest;
  if (ticket.payloads) wire.p = ticket.payloads;
  // Pure ASCII: SQS rejects some code points (U+FFFE, U+FFFF) in message bodies; escaped, any
  // payload travels and JSON.parse restores it exactly.
  return JSON.stringify(wire).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Parses a message body; `undefined` for anything that is not a ticket (it is then dead-lettered). */
export function decodeTicket(body: string): Ticket | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  const parsed = TicketWire.safeParse(json);
  if (!parsed.success) return undefined;
  const w = parsed.data;
  return { tenant: w.t, sessionId: w.s, start: w.c, count: w.n, digest: w.d, payloads: w.p };
}
