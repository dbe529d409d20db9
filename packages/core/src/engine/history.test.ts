import { describe, expect, it } from "vitest";
import {
  downsample,
  HISTORY_MAX_SPACING_MS,
  HISTORY_MIN_SPACING_MS,
  type HistoryPoint,
  historySpacingMs,
  isSnapshotDue,
  isSnapshotWorthWriting,
  throughputPerSec,
} from "./history.ts";

const T0 = 1_700_000_000_000;

function point(atSec: number, succeeded: number, extra: Partial<HistoryPoint> = {}): HistoryPoint {
  return {
    at: T0 + atSec * 1000,
    total: 1000,
    queued: 0,
    running: 0,
    succeeded,
    failed: 0,
    cancelled: 0,
    ...extra,
  };
}

describe("historySpacingMs", () => {
  it.each([
    { ageMs: 0, want: HISTORY_MIN_SPACING_MS },
    { ageMs: 4 * 3600_000, want: (4 * 3600_000) / 500 },
    { ageMs: 7 * 24 * 3600_000, want: HISTORY_MAX_SPACING_MS },
  ])("age $ageMs ms → $want ms", ({ ageMs, want }) => {
    expect(historySpacingMs(ageMs)).toBe(want);
  });
});

describe("snapshot rules", () => {
  it("is due when there is none, or once the spacing for the session's age has passed", () => {
    expect(isSnapshotDue(undefined, T0, T0)).toBe(true);
    const newest = point(0, 1);
    expect(isSnapshotDue(newest, T0, T0 + HISTORY_MIN_SPACING_MS - 1)).toBe(false);
    expect(isSnapshotDue(newest, T0, T0 + HISTORY_MIN_SPACING_MS)).toBe(true);
    // A two-hour-old session: about 14.4 s between snapshots.
    const old = { ...newest, at: T0 + 2 * 3600_000 };
    expect(isSnapshotDue(old, T0, old.at + 12_000)).toBe(false);
    expect(isSnapshotDue(old, T0, old.at + 15_000)).toBe(true);
  });

  it("is written only when some count moved", () => {
    expect(isSnapshotWorthWriting(undefined, point(0, 0))).toBe(true);
    expect(isSnapshotWorthWriting(point(0, 5), point(30, 5))).toBe(false);
    expect(isSnapshotWorthWriting(point(0, 5), point(30, 5, { running: 1 }))).toBe(true);
  });
});

describe("throughputPerSec", () => {
  it("measures from the newest snapshot at least a minute old", () => {
    // Newest first: 90 s (600 done), 50 s (500), 0 s (0); now is 120 s with 900 done.
    const series = [point(90, 600), point(50, 500), point(0, 0)];
    expect(throughputPerSec(series, point(120, 900), T0)).toBe((900 - 500) / 70);
  });

  it("counts failed and cancelled tasks as finished too", () => {
    const series = [point(0, 0)];
    expect(throughputPerSec(series, point(100, 10, { failed: 5, cancelled: 5 }), T0)).toBe(0.2);
  });

  it("measures a session younger than a minute from its creation", () => {
    expect(throughputPerSec([point(10, 50)], point(20, 100), T0)).toBe(5);
  });

  it("is 0 when nothing finished over the span, and at the creation instant", () => {
    expect(throughputPerSec([point(0, 700)], point(300, 700), T0)).toBe(0);
    expect(throughputPerSec([], point(0, 0), T0)).toBe(0);
  });
});

describe("downsample", () => {
  it("keeps short series whole", () => {
    expect(downsample([1, 2, 3], 5)).toEqual([1, 2, 3]);
  });

  it("keeps at most max points, evenly spread, with both ends", () => {
    const series = Array.from({ length: 1001 }, (_, i) => i);
    const out = downsample(series, 11);
    expect(out).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
  });
});
