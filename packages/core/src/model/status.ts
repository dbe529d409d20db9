/** Lifecycle of one task: QUEUED → LEASED → SUCCEEDED | FAILED | CANCELLED (LEASED → QUEUED on retry). */
export const TaskStatus = {
  QUEUED: "QUEUED",
  LEASED: "LEASED",
  SUCCEEDED: "SUCCEEDED",
  FAILED: "FAILED",
  CANCELLED: "CANCELLED",
} as const;
export type TaskStatus = (typeof TaskStatus)[keyof typeof TaskStatus];

/**
 * One-character slot codes stored in a chunk record (`slots`), so that the leased and
 * committed record stays small: one byte per task instead of a status string.
 * `K` is a leased task whose cancellation was requested: its worker is told to abort, and
 * whatever it commits next decides between SUCCEEDED (it finished) and CANCELLED.
 */
export const SlotCode = {
  QUEUED: "Q",
  LEASED: "L",
  CANCEL_REQUESTED: "K",
  SUCCEEDED: "S",
  FAILED: "F",
  CANCELLED: "C",
} as const;
export type SlotCode = (typeof SlotCode)[keyof typeof SlotCode];

/** Terminal slot codes: a slot in one of these never changes again. */
export function isTerminalSlot(code: string): boolean {
  return code === SlotCode.SUCCEEDED || code === SlotCode.FAILED || code === SlotCode.CANCELLED;
}

/** Terminal task statuses. */
export function isTerminalStatus(status: TaskStatus): boolean {
  return status === TaskStatus.SUCCEEDED || status === TaskStatus.FAILED || status === TaskStatus.CANCELLED;
}

/** Session lifecycle. OPEN accepts tasks; CLOSED accepts no more but finishes its tasks; CANCELLED stops them. */
export const SessionState = {
  OPEN: "OPEN",
  CLOSED: "CLOSED",
  CANCELLED: "CANCELLED",
} as const;
export type SessionState = (typeof SessionState)[keyof typeof SessionState];

/** Queue priority classes: each pool has one ticket queue per class. */
export const Priority = {
  HIGH: "high",
  NORMAL: "normal",
  LOW: "low",
} as const;
export type Priority = (typeof Priority)[keyof typeof Priority];

/** Priority classes in the order workers drain them. */
export const PRIORITY_ORDER: readonly Priority[] = [Priority.HIGH, Priority.NORMAL, Priority.LOW];
