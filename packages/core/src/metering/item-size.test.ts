import { describe, expect, it } from "vitest";
import {
  attributeValueItemSizeBytes,
  isAttributeValueItem,
  itemSizeBytes,
  nativeItemSizeBytes,
  numberSizeBytes,
  readUnits,
  transactionalUnits,
  writeUnits,
} from "./item-size.ts";

// Every expected size here was also observed on DynamoDB Local 3.3.0 (an attribute "n" added to
// an item until its PutItem cost crossed from 1 to 2 write units).
describe("numberSizeBytes: base-100 digits spanned, +1, +1 if negative", () => {
  it.each([
    ["0", 1, "zero is one byte"],
    ["1", 2, "1 digit pair + 1"],
    ["12", 2, "12 is one pair + 1"],
    ["123", 3, "1|23: two pairs + 1"],
    ["1234", 3, "12|34: two pairs + 1"],
    ["100", 2, "trailing zeros trimmed: 1|00 spans one significant pair + 1"],
    ["1.2", 3, "1|.20 spans two pairs (the docs' ceil(2/2)+1 = 2 would under-count) + 1"],
    ["0.12", 2, ".12 is one pair + 1"],
    ["0.012", 3, ".01|20 spans two pairs + 1"],
    ["123.45", 4, "1|23|.45: three pairs + 1"],
    ["12E3", 3, "12000 = 1|20|00: two significant pairs + 1"],
    ["1.1E-10", 3, ".00|00|00|00|01|10: two significant pairs + 1"],
    ["12345678901234567890", 11, "20 digits = 10 pairs + 1"],
    ["-12", 3, "one pair + 1 + 1 for the sign"],
    ["-0.5", 3, ".50 one pair + 1 + 1 for the sign"],
  ])("%s → %i bytes (%s)", (text, bytes) => {
    expect(numberSizeBytes(text)).toBe(bytes);
  });

  it("reads JS numbers and bigints through their decimal text", () => {
    expect(numberSizeBytes(1e21)).toBe(2); // "1e+21": one significant pair + 1
    expect(numberSizeBytes(1234n)).toBe(3);
  });

  it("rejects text that is not a number", () => {
    expect(() => numberSizeBytes("abc")).toThrow(TypeError);
    expect(() => numberSizeBytes(Number.NaN)).toThrow(TypeError);
  });
});

describe("itemSizeBytes, native form (as given to lib-dynamodb)", () => {
  it.each([
    ["string: name 2 + UTF-8 'é€' 2+3 = 7", { pk: "é€" }, 7],
    ["number: name 1 + 1|23 pairs 2 + 1 = 4", { n: 123 }, 4],
    ["boolean and null: (1+1) + (1+1) = 4", { a: true, b: null }, 4],
    ["binary: name 1 + 10 raw bytes = 11", { b: new Uint8Array(10) }, 11],
    ["empty list: name 1 + 3 = 4", { l: [] }, 4],
    ["list ['ab', 1]: 1 + 3 + (1+2) + (1+2) = 10", { l: ["ab", 1] }, 10],
    ["map {k:'ab', kk:false}: 1 + 3 + (1+1+2) + (1+2+1) = 12", { m: { k: "ab", kk: false } }, 12],
    ["nested {k:['a']}: 1 + 3 + 1 + 1 + (3+1+1) = 11", { m: { k: ["a"] } }, 11],
    ["string set {'ab','c'}: 1 + 2 + 1 = 4", { s: new Set(["ab", "c"]) }, 4],
    ["number set {1,123}: 1 + 2 + 3 = 6", { s: new Set([1, 123]) }, 6],
    ["undefined attributes are dropped, as with removeUndefinedValues", { a: "x", b: undefined }, 2],
  ])("%s", (_, item, bytes) => {
    expect(nativeItemSizeBytes(item)).toBe(bytes);
    expect(itemSizeBytes(item)).toBe(bytes);
  });

  it("sizes a Map like a plain object", () => {
    expect(nativeItemSizeBytes({ m: new Map([["k", "ab"]]) })).toBe(8); // 1 + 3 + (1+1+2)
  });

  it("rejects values DynamoDB cannot store", () => {
    expect(() => nativeItemSizeBytes({ f: () => 1 })).toThrow(TypeError);
    expect(() => nativeItemSizeBytes({ n: Number.POSITIVE_INFINITY })).toThrow(TypeError);
  });
});

describe("itemSizeBytes, low-level AttributeValue form", () => {
  it.each([
    ["S: 2 + 'abc' 3 = 5", { pk: { S: "abc" } }, 5],
    ["N: 1 + 2 = 3", { n: { N: "12" } }, 3],
    ["BOOL and NULL: 2 + 2 = 4", { a: { BOOL: false }, b: { NULL: true } }, 4],
    ["B: 1 + 3 = 4", { b: { B: new Uint8Array(3) } }, 4],
    ["L [S ab, N 1]: 1 + 3 + (1+2) + (1+2) = 10", { l: { L: [{ S: "ab" }, { N: "1" }] } }, 10],
    ["M {k: S ab}: 1 + 3 + (1+1+2) = 8", { m: { M: { k: { S: "ab" } } } }, 8],
    ["SS [ab, c]: 1 + 3 = 4", { s: { SS: ["ab", "c"] } }, 4],
    ["NS [1, 123]: 1 + 2 + 3 = 6", { s: { NS: ["1", "123"] } }, 6],
    ["BS [3 bytes, 4 bytes]: 1 + 7 = 8", { s: { BS: [new Uint8Array(3), new Uint8Array(4)] } }, 8],
  ])("%s", (_, item, bytes) => {
    expect(isAttributeValueItem(item)).toBe(true);
    expect(attributeValueItemSizeBytes(item)).toBe(bytes);
    expect(itemSizeBytes(item)).toBe(bytes);
  });

  it("gives the same size as the native form of the same item", () => {
    const native = { pk: "s#1", sk: "t#000042", n: 7, tags: ["a", "b"], meta: { ok: true } };
    const low = {
      pk: { S: "s#1" },
      sk: { S: "t#000042" },
      n: { N: "7" },
      tags: { L: [{ S: "a" }, { S: "b" }] },
      meta: { M: { ok: { BOOL: true } } },
    };
    expect(itemSizeBytes(low)).toBe(itemSizeBytes(native));
  });

  it("does not take a native item with a plain string attribute for the low-level form", () => {
    expect(isAttributeValueItem({ pk: { S: "x" }, body: "y" })).toBe(false);
  });
});

describe("capacity units", () => {
  it.each([
    [0, 1, "an empty write still costs 1"],
    [1024, 1, "exactly 1 KiB is one unit"],
    [1025, 2, "one byte over starts the second KiB"],
    [1500, 2, "1.5 KB → 2"],
    [400 * 1024, 400, "the 400 KB item maximum → 400"],
  ])("writeUnits(%i) = %i (%s)", (bytes, units) => {
    expect(writeUnits(bytes)).toBe(units);
  });

  it.each([
    [100, true, 1, "strongly consistent minimum is 1"],
    [100, false, 0.5, "eventually consistent minimum is 0.5"],
    [4096, true, 1, "exactly 4 KiB is one unit"],
    [4097, true, 2, "one byte over starts the second 4 KiB"],
    [10_000, false, 1.5, "ceil(10000/4096) = 3, halved"],
  ])("readUnits(%i, consistent %s) = %d (%s)", (bytes, consistent, units) => {
    expect(readUnits(bytes, consistent)).toBe(units);
  });

  it("doubles units inside a transaction: a 1.5 KB Put costs 2 × 2 = 4", () => {
    expect(transactionalUnits(writeUnits(1500))).toBe(4);
  });
});
