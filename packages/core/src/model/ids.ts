import { ValidationError } from "../errors.ts";
import { Limits } from "./limits.ts";

const ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** Throws a ValidationError unless `value` is a valid tenant, session or pool id. */
export function assertId(field: string, value: unknown): asserts value is string {
  if (typeof value !== "string" || !ID_PATTERN.test(value)) {
    throw new ValidationError(field, "must be 1-64 characters of A-Z a-z 0-9 _ . -");
  }
}

/** Throws a ValidationError unless `value` is a valid task index. */
export function assertTaskIndex(field: string, value: unknown): asserts value is number {
  if (
    typeof value !== "number" ||
    !Number.isSafeInteger(value) ||
    value < 0 ||
    value >= Limits.MAX_TASK_INDEX
  ) {
    throw new ValidationError(field, `must be an integer from 0 to ${Limits.MAX_TASK_INDEX - 1}`);
  }
}

/** Parses a task id (its decimal index) or throws a ValidationError naming `field`. */
export function parseTaskId(field: string, taskId: string): number {
  const index = /^\d{1,12}$/.test(taskId) ? Number(taskId) : Number.NaN;
  assertTaskIndex(field, index);
  return index;
}
