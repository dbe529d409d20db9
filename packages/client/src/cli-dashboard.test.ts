/** What `tessera dashboard` decides before serving: the fix it shows for a refused credential, and whether to open a browser. */
import { describe, expect, it } from "vitest";
import { browserLikely, credentialHint } from "./cli-dashboard.ts";

describe("tessera dashboard", () => {
  it("names where the refused credential came from, so the fix is the user's own", () => {
    const endpoint = "https://api.example";
    expect(credentialHint({ endpoint, iamRegion: "eu-west-1" }, {}, {})).toContain("aws sso login");
    expect(credentialHint({ endpoint, token: "t" }, { token: "t" }, { TESSERA_TOKEN: "u" })).toMatch(
      /^pass the grid's token with --token/,
    );
    expect(credentialHint({ endpoint, token: "u" }, {}, { TESSERA_TOKEN: "u" })).toMatch(
      /^set TESSERA_TOKEN/,
    );
    expect(
      credentialHint({ endpoint, token: "p" }, { profile: "prod" }, { TESSERA_CONFIG: "/cfg.json" }),
    ).toBe(
      'fix the token of profile "prod" in /cfg.json (or pass --token), then run `tessera dashboard` again',
    );
  });

  it("opens a browser only where one can show: not in CI, not on a Linux without a display", () => {
    expect(browserLikely({ CI: "true", DISPLAY: ":0" }, "linux")).toBe(false);
    expect(browserLikely({}, "linux")).toBe(false);
    expect(browserLikely({ DISPLAY: ":0" }, "linux")).toBe(true);
    expect(browserLikely({ WAYLAND_DISPLAY: "wayland-0" }, "linux")).toBe(true);
    expect(browserLikely({}, "darwin")).toBe(true);
  });
});
