/**
 * Request signing for grids whose API authenticates with IAM (AWS Signature Version 4). A
 * subpath of its own (`@tessera/client/sigv4`), so the SDK loads AWS code only when asked to.
 *
 * @example
 * const tessera = new Tessera({ endpoint, signer: sigv4Signer({ region: "eu-west-1" }) });
 */
import { createHash, createHmac, type Hash, type Hmac } from "node:crypto";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { SignatureV4 } from "@smithy/signature-v4";
import type { RequestSigner } from "./http.ts";

/** AWS credentials, or a function that provides them (refreshed as they expire). */
export type Credentials =
  | { accessKeyId: string; secretAccessKey: string; sessionToken?: string | undefined }
  | (() => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string | undefined }>);

/** Options of {@link sigv4Signer}. */
export interface Sigv4Options {
  /** Region of the API. */
  region: string;
  /** @default the default provider chain (environment, profile, SSO, instance or task role) */
  credentials?: Credentials;
  /** @default "execute-api" (API Gateway) */
  service?: string;
  /** Fixed signing time (tests). */
  signingDate?: Date;
}

/** SHA-256 (and HMAC-SHA-256 with a secret) in the shape the signer expects. */
type Data = string | ArrayBuffer | ArrayBufferView;
const bytes = (data: Data): string | Uint8Array =>
  typeof data === "string"
    ? data
    : ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data);

class Sha256 {
  readonly #hash: Hash | Hmac;
  constructor(secret?: Data) {
    this.#hash = secret === undefined ? createHash("sha256") : createHmac("sha256", bytes(secret));
  }
  update(data: Data): void {
    this.#hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }
}

/** A RequestSigner that signs with SigV4. */
export function sigv4Signer(options: Sigv4Options): RequestSigner {
  const signer = new SignatureV4({
    service: options.service ?? "execute-api",
    region: options.region,
    credentials: options.credentials ?? defaultProvider(),
    sha256: Sha256,
    // API Gateway does not need the payload hash header (S3 does): sign the body without it.
    applyChecksum: false,
  });
  return async ({ method, url, headers, body }) => {
    const query: Record<string, string> = {};
    url.searchParams.forEach((value, name) => {
      query[name] = value;
    });
    const signed = await signer.sign(
      {
        method,
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port ? Number(url.port) : undefined,
        path: url.pathname,
        query,
        headers: { ...headers, host: url.host },
        body,
      },
      options.signingDate ? { signingDate: options.signingDate } : {},
    );
    const added: Record<string, string> = {};
    for (const [name, value] of Object.entries(signed.headers)) {
      if (name !== "host" && headers[name] === undefined) added[name] = String(value);
    }
    return added;
  };
}
