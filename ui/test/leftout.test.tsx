// What a hub leaves out, in words, and histograms whose left-out bins stay gaps (fillGaps).
import { describe, expect, it } from "vitest";

import { fillGaps } from "../src/charts/draw";
import { DASHBOARD_GROUPS, INSIGHTS_GROUPS, leftOutText } from "../src/leftOut";

describe("leftOutText", () => {
  it("names each section's groups with their counts, and wholes without one", () => {
    expect(leftOutText(5, { events_over_time: 3, slowest_distribution: 1, sessions: 1, errors_by_type: 0 }, DASHBOARD_GROUPS))
      .toBe("Left out to protect individuals, as each is backed by fewer than 5 installs: 3 time buckets, 1 histogram bin, the session figures.");
    expect(leftOutText(1, {}, INSIGHTS_GROUPS)).toBe("Every group shown is backed by at least 1 install; none had to be left out.");
    expect(leftOutText(3, { heatmap_cells: 2, new_section: 4 }, INSIGHTS_GROUPS)).toContain("2 heatmap cells, new section");
  });
});

describe("fillGaps", () => {
  it("puts empty equal-width bins where bins were left out, so each stays at its place", () => {
    const filled = fillGaps([{ lo: 0, hi: 10, count: 6 }, { lo: 50, hi: 60, count: 7 }, { lo: 190, hi: 200, count: 5 }]);
    expect(filled).toHaveLength(20);
    expect(filled.map((b) => b.count).filter((c) => c > 0)).toEqual([6, 7, 5]);
    filled.forEach((b, i) => {
      expect(b.lo).toBeCloseTo(i * 10);
      expect(b.hi).toBeCloseTo((i + 1) * 10);
    });
  });

  it("leaves contiguous bins alone and spans a gap between unequal bins with one empty bin", () => {
    const contiguous = [{ lo: 1, hi: 2, count: 1 }, { lo: 2, hi: 4, count: 2 }];
    expect(fillGaps(contiguous)).toEqual(contiguous);
    expect(fillGaps([{ lo: 1, hi: 2, count: 1 }, { lo: 8, hi: 16, count: 2 }])).toEqual([
      { lo: 1, hi: 2, count: 1 }, { lo: 2, hi: 8, count: 0 }, { lo: 8, hi: 16, count: 2 },
    ]);
  });
});
