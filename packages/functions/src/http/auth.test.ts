import { describe, expect, it } from "vitest";
import { httpEvent } from "../../test/harness.ts";
import { type AuthConfig, resolveTenant } from "./auth.ts";

const auth: AuthConfig = { jwtTenantClaim: "tenant", tokens: new Map([["secret-a", "acme"]]) };
const onAws: AuthConfig = { jwtTenantClaim: "team" };

const tenantOf = (options: Parameters<typeof httpEvent>[2], config = auth) => {
  try {
    return resolveTenant(httpEvent("GET", "/sessions", options), config);
  } catch (error) {
    return `${(error as Error).name}`;
  }
};

describe("resolveTenant", () => {
  it.each([
    [
      "an assumed role",
      "arn:aws:sts::123456789012:assumed-role/RiskTeam/alice",
      "123456789012.role.RiskTeam",
    ],
    ["an IAM user with a path", "arn:aws:iam::123456789012:user/quants/bob", "123456789012.user.bob"],
    ["a role", "arn:aws:iam::123456789012:role/Batch", "123456789012.role.Batch"],
    ["the root user", "arn:aws:iam::123456789012:root", "ForbiddenError"],
    ["not an ARN", "alice", "ForbiddenError"],
  ])("maps %s to a tenant", (_name, userArn, want) => {
    const iam = { iam: { accountId: "123456789012", userArn } };
    expect(tenantOf({ as: null, authorizer: iam }, onAws)).toBe(want);
  });

  it("never maps two IAM identities to one tenant", () => {
    const of = (userArn: string) => tenantOf({ as: null, authorizer: { iam: { userArn } } }, onAws);
    const tenants = [
      "arn:aws:iam::123456789012:user/ci",
      "arn:aws:iam::123456789012:role/ci",
      "arn:aws:sts::123456789012:assumed-role/deploy+prod/s",
      "arn:aws:sts::123456789012:assumed-role/deploy_prod/s",
      "arn:aws:sts::123456789012:assumed-role/deploy@prod/s",
      `arn:aws:sts::123456789012:assumed-role/${"r".repeat(60)}a/s`,
      `arn:aws:sts::123456789012:assumed-role/${"r".repeat(60)}b/s`,
    ].map(of);
    expect(new Set(tenants).size).toBe(tenants.length);
    for (const t of tenants) expect(t).toMatch(/^[A-Za-z0-9_.-]{1,64}$/);
  });

  it("takes a JWT caller's tenant from the configured claim only", () => {
    expect(tenantOf({ as: null, authorizer: { jwt: { claims: { team: "rates" } } } }, onAws)).toBe("rates");
    expect(tenantOf({ as: null, authorizer: { jwt: { claims: { tenant: "rates" } } } }, onAws)).toBe(
      "ForbiddenError",
    );
    expect(tenantOf({ as: null, authorizer: { jwt: { claims: { team: "a#b" } } } }, onAws)).toBe(
      "ForbiddenError",
    );
  });

  it("accepts local bearer tokens only where they are configured", () => {
    expect(tenantOf({ authorization: "Bearer secret-a" })).toBe("acme");
    expect(tenantOf({ authorization: "bearer   secret-a " })).toBe("acme");
    expect(tenantOf({ authorization: "Bearer secret-b" })).toBe("UnauthorizedError");
    expect(tenantOf({ authorization: "Bearer secret-a" }, onAws)).toBe("UnauthorizedError");
    expect(tenantOf({ as: null })).toBe("UnauthorizedError");
  });

  it("prefers the authorizer's identity over any bearer token", () => {
    const jwt = { jwt: { claims: { tenant: "globex" } } };
    expect(tenantOf({ authorization: "Bearer secret-a", authorizer: jwt })).toBe("globex");
  });
});
