// The harness's version table: renamed server flags and version ordering (pure logic; the servers themselves are
// exercised by every other test).
import { describe, expect, it } from "vitest";
import { ETCD_VERSIONS, compareVersions, flagsFor, pinnedRelease } from "../../scripts/etcd-versions.mjs";

describe("etcd versions", () => {
  it("renames flags written under their current name for versions before the rename", () => {
    const args = ["--watch-progress-notify-interval=100ms", "--downgrade-check-time", "1s", "--max-txn-ops", "7"];
    expect(flagsFor("3.6", args)).toEqual(args);
    expect(flagsFor("3.7", args)).toEqual(args);
    const old = ["--experimental-watch-progress-notify-interval=100ms", "--experimental-downgrade-check-time", "1s", "--max-txn-ops", "7"];
    expect(flagsFor("3.5", args)).toEqual(old);
    expect(flagsFor("3.4", args)).toEqual(old);
  });

  it("orders versions numerically", () => {
    expect(compareVersions("3.4", "3.5")).toBeLessThan(0);
    expect(compareVersions("3.10", "3.9")).toBeGreaterThan(0);
    expect(compareVersions("3.6", "3.6")).toBe(0);
  });

  it("pins each Go-built version to a release of its own line", () => {
    expect(Object.keys(ETCD_VERSIONS)).toEqual(["3.4", "3.5", "3.6", "3.7"]);
    expect(pinnedRelease("3.4")).toBe("debian");
    for (const v of ["3.5", "3.6", "3.7"]) expect(pinnedRelease(v).startsWith(`${v}.`)).toBe(true);
    expect(() => pinnedRelease("2.3")).toThrow(/unknown etcd version/);
  });
});
