/**
 * Who is calling, and which tenant that makes them. The tenant always comes from the identity
 * that API Gateway verified (IAM SigV4 or a JWT authorizer) or, locally, from a bearer token
 * listed in the local config; never from the request body.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { ForbiddenError, UnauthorizedError } from "../errors.ts";

/** How callers are mapped to tenants. */
export interface AuthConfig {
  /** JWT claim holding the tenant id. @default "tenant" */
  jwtTenantClaim: string;
  /** Local mode only: bearer token → tenant. Absent on AWS, where API Gateway authenticates. */
  tokens?: Map<string, string> | undefined;
}

/** The parts of API Gateway's authorizer context we read. */
export interface AuthorizerContext {
  iam?: { accountId?: string; userArn?: string; principalOrgId?: string | null } | undefined;
  jwt?: { claims?: Record<string, string | number | boolean | string[]> } | undefined;
}

const TENANT = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Tenant of an IAM caller: `{account}.role.{name}` or `{account}.user.{name}`, so each team's role
 * is a tenant and a user never shares one with a role of the same name. Names with characters
 * outside the tenant alphabet (IAM allows `+=,@`) keep the allowed ones and gain a hash of the
 * original, so two names never collapse into one tenant.
 */
function iamTenant(iam: NonNullable<AuthorizerContext["iam"]>): string {
  const arn = iam.userArn ?? "";
  // arn:aws:sts::123456789012:assumed-role/RoleName/session, arn:aws:iam::123456789012:user/path/Name
  const [prefix, , service, , account, ...rest] = arn.split(":");
  const resource = rest.join(":").split("/");
  const kind = resource[0] === "user" ? "user" : "role";
  const name =
    resource[0] === "assumed-role"
      ? resource[1]
      : resource[0] === "user" || resource[0] === "role"
        ? resource.at(-1)
        : undefined;
  if (
    prefix !== "arn" ||
    (service !== "sts" && service !== "iam") ||
    !/^\d{12}$/.test(account ?? "") ||
    !name
  ) {
    throw new ForbiddenError(`IAM identity ${arn || "(none)"} does not name a role or user`);
  }
  const raw = `${account}.${kind}.${name}`;
  const clean = raw.replace(/[^A-Za-z0-9_.-]/g, "_");
  if (clean === raw && clean.length <= 64) return clean;
  return `${clean.slice(0, 55)}.${sha(raw).slice(0, 8)}`;
}

function sha(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Looks up a bearer token in constant time per candidate. */
function tokenTenant(tokens: Map<string, string>, token: string): string | undefined {
  const presented = createHash("sha256").update(token).digest();
  let found: string | undefined;
  for (const [candidate, tenant] of tokens) {
    if (timingSafeEqual(presented, createHash("sha256").update(candidate).digest())) found = tenant;
  }
  return found;
}

/**
 * The caller's tenant. Throws UnauthorizedError without credentials and ForbiddenError when
 * the identity carries no usable tenant.
 */
export function resolveTenant(event: APIGatewayProxyEventV2, auth: AuthConfig): string {
  // Set by API Gateway's IAM or JWT authorizer (never by the caller); absent locally.
  const authorizer = (event.requestContext as { authorizer?: AuthorizerContext }).authorizer;
  let tenant: string | undefined;
  if (authorizer?.iam) {
    tenant = iamTenant(authorizer.iam);
  } else if (authorizer?.jwt) {
    const claim = authorizer.jwt.claims?.[auth.jwtTenantClaim];
    if (typeof claim !== "string") {
      throw new ForbiddenError(`the token has no "${auth.jwtTenantClaim}" claim naming a tenant`);
    }
    tenant = claim;
  } else {
    const header = event.headers?.authorization ?? event.headers?.Authorization;
    const token = header?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
    if (!token || !auth.tokens)
      throw new UnauthorizedError("missing credentials: send Authorization: Bearer <token>");
    tenant = tokenTenant(auth.tokens, token);
    if (tenant === undefined) throw new UnauthorizedError("unknown token");
  }
  if (!TENANT.test(tenant)) throw new ForbiddenError(`tenant "${tenant}" is not a valid id`);
  return tenant;
}
