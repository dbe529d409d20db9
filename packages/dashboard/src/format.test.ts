/** How figures read on the pages: cents of cost stay visible, durations and ages stay short. */
import { describe, expect, it } from "vitest";
import { age, dollars, duration, rate, time } from "./format.ts";

describe("format", () => {
  it.each([
    [undefined, "–"],
    [0.00224, "$0.00224"],
    [0.0005, "$0.0005"],
    [0.1, "$0.1"],
    [4e-7, "$0.0000004"],
    [0, "$0"],
    [12.345, "$12.35"],
  ])("dollars(%s) is %s", (n, text) => expect(dollars(n)).toBe(text));

  it.each([
    [undefined, "–"],
    [450, "450 ms"],
    [3_240, "3.2 s"],
    [250_000, "4 min 10 s"],
    [7_500_000, "2 h 5 min"],
  ])("duration(%s) is %s", (ms, text) => expect(duration(ms)).toBe(text));

  it("gives ages from now, rates and UTC times", () => {
    const now = Date.parse("2026-12-01T12:00:00Z");
    expect(age("2026-12-01T11:59:48Z", now)).toBe("12 s");
    expect(age("2026-12-01T09:00:00Z", now)).toBe("3 h");
    expect(age("2026-11-29T12:00:00Z", now)).toBe("2 d");
    expect(rate(8.61)).toBe("8.6/s");
    expect(rate(1234.4)).toBe("1,234/s");
    expect(time("2026-12-01T12:00:01.123Z")).toBe("2026-12-01 12:00:01");
  });
});
