/**
 * DynamoDB item sizes and capacity units, by the rules of the "Item sizes and formats" page of
 * the DynamoDB developer guide. Every rule below was also checked byte for byte against
 * DynamoDB Local, by growing an item until its PutItem cost went from 1 to 2 write units.
 */

/** A low-level DynamoDB attribute value, as `@aws-sdk/client-dynamodb` and the wire use it. */
export type AttributeValueShape =
  | { S: string }
  | { N: string }
  | { B: Uint8Array }
  | { BOOL: boolean }
  | { NULL: boolean }
  | { M: Record<string, AttributeValueShape> }
  | { L: AttributeValueShape[] }
  | { SS: string[] }
  | { NS: string[] }
  | { BS: Uint8Array[] };

const WRITE_UNIT_BYTES = 1024;
const READ_UNIT_BYTES = 4096;
/** A List or Map costs this much whatever it holds, and each element one byte more. */
const CONTAINER_OVERHEAD = 3;
const ELEMENT_OVERHEAD = 1;

const utf8 = new TextEncoder();
const NUMBER_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** UTF-8 length of a string, the size DynamoDB bills for names and string values. */
function textBytes(text: string): number {
  return utf8.encode(text).byteLength;
}

/**
 * Size of a DynamoDB number. The guide's rule is "1 byte per two significant digits, plus 1";
 * DynamoDB stores the digits in base 100 aligned on the decimal point, so the exact count is the
 * number of base-100 digits spanned by the significant decimal digits (1.2 spans two: 1|.20).
 * DynamoDB Local also adds a byte for a negative sign. Zero is a single byte.
 */
export function numberSizeBytes(value: string | number | bigint): number {
  const text = String(value).trim();
  const match = NUMBER_TEXT.exec(text);
  const whole = match?.[2] ?? "";
  const fraction = match?.[3] ?? "";
  if (match === null || whole + fraction === "") throw new TypeError(`not a DynamoDB number: ${text}`);
  const digits = whole + fraction;
  const first = digits.search(/[1-9]/);
  if (first === -1) return 1;
  let last = digits.length - 1;
  while (digits[last] === "0") last--;
  const exponent = Number(match[4] ?? 0);
  // Power of ten of the first and last significant digit.
  const high = whole.length - 1 - first + exponent;
  const low = whole.length - 1 - last + exponent;
  const base100Digits = Math.floor(high / 2) - Math.floor(low / 2) + 1;
  return base100Digits + 1 + (match[1] === "-" ? 1 : 0);
}

/** Raw byte length of a binary value; the SDK sends base64 but DynamoDB bills the raw bytes. */
function binaryBytes(value: Uint8Array | ArrayBuffer | string): number {
  if (typeof value === "string") return Buffer.from(value, "base64").byteLength;
  return value.byteLength;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}

/** True when `value` has the shape of one low-level attribute value (`{S: "x"}`, `{M: {...}}`, …). */
export function isAttributeValue(value: unknown): value is AttributeValueShape {
  if (!isPlainObject(value)) return false;
  const keys = Object.keys(value);
  if (keys.length !== 1) return false;
  const inner = value[keys[0]!];
  switch (keys[0]) {
    case "S":
    case "N":
      return typeof inner === "string";
    case "B":
      return inner instanceof Uint8Array || typeof inner === "string";
    case "BOOL":
    case "NULL":
      return typeof inner === "boolean";
    case "M":
      return isPlainObject(inner);
    case "L":
    case "BS":
      return Array.isArray(inner);
    case "SS":
    case "NS":
      return isStringArray(inner);
    default:
      return false;
  }
}

/**
 * True when every attribute of a non-empty item is a low-level attribute value. A native item
 * whose every attribute happens to be a one-key map such as `{S: "x"}` is misread; the two sizes
 * differ by a few bytes per attribute, which only matters to estimates.
 */
export function isAttributeValueItem(
  item: Record<string, unknown>,
): item is Record<string, AttributeValueShape> {
  const values = Object.values(item);
  return values.length > 0 && values.every(isAttributeValue);
}

/** Size of one low-level attribute value, without its attribute name. */
export function attributeValueSizeBytes(value: AttributeValueShape): number {
  if ("S" in value) return textBytes(value.S);
  if ("N" in value) return numberSizeBytes(value.N);
  if ("B" in value) return binaryBytes(value.B);
  if ("BOOL" in value || "NULL" in value) return 1;
  if ("SS" in value) return value.SS.reduce((sum, s) => sum + textBytes(s), 0);
  if ("NS" in value) return value.NS.reduce((sum, n) => sum + numberSizeBytes(n), 0);
  if ("BS" in value) return value.BS.reduce((sum, b) => sum + binaryBytes(b), 0);
  if ("L" in value) {
    return value.L.reduce(
      (sum, v) => sum + ELEMENT_OVERHEAD + attributeValueSizeBytes(v),
      CONTAINER_OVERHEAD,
    );
  }
  return attributeValueItemSizeBytes(value.M) + CONTAINER_OVERHEAD + Object.keys(value.M).length;
}

/** Size of an item in low-level form: attribute names plus values. */
export function attributeValueItemSizeBytes(item: Record<string, AttributeValueShape>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += textBytes(name) + attributeValueSizeBytes(value);
  return size;
}

/** Duck-types lib-dynamodb's `NumberValue`, which carries a number too precise for a JS number. */
function numberValueText(value: object): string | undefined {
  const text = (value as { value?: unknown }).value;
  return typeof text === "string" && !isPlainObject(value) ? text : undefined;
}

/**
 * Size of one native JS value as lib-dynamodb marshalls it, without its attribute name.
 * `undefined` counts 0, as with `removeUndefinedValues`. Throws a TypeError for values
 * DynamoDB cannot store (functions, symbols, non-finite numbers).
 */
export function nativeValueSizeBytes(value: unknown): number {
  switch (typeof value) {
    case "string":
      return textBytes(value);
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`DynamoDB cannot store ${value}`);
      return numberSizeBytes(value);
    case "bigint":
      return numberSizeBytes(value);
    case "boolean":
      return 1;
    case "undefined":
      return 0;
    case "object":
      return objectSizeBytes(value);
    default:
      throw new TypeError(`DynamoDB cannot store a ${typeof value}`);
  }
}

function objectSizeBytes(value: object | null): number {
  if (value === null) return 1;
  if (value instanceof Uint8Array || value instanceof ArrayBuffer) return binaryBytes(value);
  if (Array.isArray(value)) {
    return value.reduce<number>(
      (sum, v) => sum + ELEMENT_OVERHEAD + nativeValueSizeBytes(v),
      CONTAINER_OVERHEAD,
    );
  }
  if (value instanceof Set) {
    let size = 0;
    for (const member of value) size += nativeValueSizeBytes(member);
    return size;
  }
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
  const numberText = value instanceof Map ? undefined : numberValueText(value);
  if (numberText !== undefined) return numberSizeBytes(numberText);
  let size = CONTAINER_OVERHEAD;
  for (const [key, v] of entries) {
    if (v === undefined) continue;
    size += ELEMENT_OVERHEAD + textBytes(String(key)) + nativeValueSizeBytes(v);
  }
  return size;
}

/** Size of an item in native form (as passed to lib-dynamodb): attribute names plus values. */
export function nativeItemSizeBytes(item: Record<string, unknown>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value !== undefined) size += textBytes(name) + nativeValueSizeBytes(value);
  }
  return size;
}

/** Size of an item in either form, told apart by {@link isAttributeValueItem}. */
export function itemSizeBytes(item: Record<string, unknown>): number {
  return isAttributeValueItem(item) ? attributeValueItemSizeBytes(item) : nativeItemSizeBytes(item);
}

/** Size of one value in either form, told apart by {@link isAttributeValue}. */
export function valueSizeBytes(value: unknown): number {
  return isAttributeValue(value) ? attributeValueSizeBytes(value) : nativeValueSizeBytes(value);
}

/** Write request units for writing an item of `bytes`: one per started KiB, at least one. */
export function writeUnits(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / WRITE_UNIT_BYTES));
}

/**
 * Read request units for reading `bytes` (an item, or a Query page's summed item sizes): one per
 * started 4 KiB when strongly consistent, half that when eventually consistent.
 */
export function readUnits(bytes: number, consistent: boolean): number {
  const units = Math.max(1, Math.ceil(bytes / READ_UNIT_BYTES));
  return consistent ? units : units / 2;
}

/** Units of the same work inside TransactWriteItems / TransactGetItems, which bill double. */
export function transactionalUnits(units: number): number {
  return units * 2;
}
