import { describe, expect, it } from "vitest";
import { sigv4Signer } from "./sigv4.ts";

// AWS's published Signature Version 4 test suite, case "get-vanilla".
const SUITE = {
  credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" },
  region: "us-east-1",
  service: "service",
  signingDate: new Date("2015-08-30T12:36:00Z"),
};

describe("sigv4Signer", () => {
  it("signs AWS's get-vanilla test request to the published signature", async () => {
    const sign = sigv4Signer(SUITE);
    const headers = await sign({
      method: "GET",
      url: new URL("https://example.amazonaws.com/"),
      headers: {},
      body: undefined,
    });
    expect(headers["x-amz-date"]).toBe("20150830T123600Z");
    expect(headers.authorization).toBe(
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, " +
        "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    );
  });

  it("signs the body, the query and a session token, for API Gateway by default", async () => {
    const sign = sigv4Signer({
      region: "eu-west-1",
      credentials: async () => ({ ...SUITE.credentials, sessionToken: "token-1" }),
      signingDate: SUITE.signingDate,
    });
    const request = {
      method: "POST",
      url: new URL("https://abc.execute-api.eu-west-1.amazonaws.com/sessions/s1/results?x=1"),
      headers: { "content-type": "application/json" },
      body: '{"limit":10}',
    };
    const a = await sign(request);
    expect(a.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20150830\/eu-west-1\/execute-api\/aws4_request, /,
    );
    expect(a["x-amz-security-token"]).toBe("token-1");
    const b = await sign({ ...request, body: '{"limit":11}' });
    expect(b.authorization).not.toBe(a.authorization);
    expect(Object.keys(a)).not.toContain("content-type"); // only what signing adds
  });
});
