/** A ticket to send. */
export interface OutgoingTicket {
  body: string;
  /** Seconds before the ticket becomes visible (at most 900). */
  delaySeconds?: number | undefined;
}

/** A received ticket. */
export interface ReceivedTicket {
  body: string;
  /** Handle for acknowledging or re-timing this receipt. */
  receipt: string;
  /** How many times this ticket was received, this time included. */
  receiveCount: number;
}

/** Options of a receive. */
export interface ReceiveOptions {
  /** Most tickets to return (1-10). */
  max: number;
  /** Long-poll wait in seconds (0-20). */
  waitSeconds: number;
  /** Seconds the received tickets stay invisible to other receivers. */
  visibilitySeconds: number;
  signal?: AbortSignal | undefined;
}

/** A visibility change of a received ticket. */
export interface VisibilityChange {
  receipt: string;
  seconds: number;
}

/**
 * Ticket queues, addressed by logical name (`{pool}-{priority}`, and `…-dlq`): SQS in
 * production, in-memory in simulations. Tickets are hints; the store holds the truth. Batch
 * operations take any number of entries and split them into calls of ten.
 */
export interface TicketQueue {
  send(queue: string, tickets: readonly OutgoingTicket[]): Promise<void>;
  receive(queue: string, options: ReceiveOptions): Promise<ReceivedTicket[]>;
  /** Deletes received tickets. A stale receipt is ignored. */
  ack(queue: string, receipts: readonly string[]): Promise<void>;
  /** Re-times received tickets: they reappear after `seconds`. A stale receipt is ignored. */
  setVisibility(queue: string, changes: readonly VisibilityChange[]): Promise<void>;
}
