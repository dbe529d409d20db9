import { randomUUID } from "node:crypto";
import { getSession, keys, Limits, SessionNotOpenError } from "@tessera/core";
import { z } from "zod";
import { defineRoute, NoParams } from "../http/route.ts";
import { SessionIdParams, UploadsResponse } from "../http/schemas.ts";

/** Links handed out per request. */
const MAX_UPLOADS = 100;

export const CreateUploadsBody = z
  .object({ count: z.number().int().min(1).max(MAX_UPLOADS).default(1) })
  .strict()
  .meta({ id: "CreateUploadsRequest" });

/** POST /sessions/{sessionId}/uploads: presigned links for payloads too large to send inline. */
export const createUploadsRoute = defineRoute({
  method: "POST",
  path: "/sessions/{sessionId}/uploads",
  operationId: "createUploads",
  summary: "Get upload links for large task payloads",
  description: `Returns \`count\` presigned S3 links. PUT a task's payload (up to ${Limits.MAX_TASK_BYTES} bytes) to a link, then submit the task with \`payloadRef\` set to the link's \`ref\` instead of \`payload\`. Links expire after an hour; the payload is read by the worker straight from S3, never by the API.`,
  tags: ["tasks"],
  params: SessionIdParams,
  query: NoParams,
  body: CreateUploadsBody,
  status: 201,
  response: UploadsResponse,
  errors: [404, 409, 413, 415],
  async handle({ runtime, tenant, params, body }) {
    const key = { tenant, sessionId: params.sessionId };
    const session = await getSession(runtime.ports, key);
    if (session.state !== "OPEN") throw new SessionNotOpenError(key.sessionId, session.state);
    const expiresAt = new Date(runtime.ports.clock.now() + Limits.LINK_SECONDS * 1000).toISOString();
    const uploads = await Promise.all(
      Array.from({ length: body.count }, async () => {
        const ref = randomUUID();
        const url = await runtime.ports.blobs.link(keys.uploadBlobKey(key, ref), "PUT", Limits.LINK_SECONDS);
        return { ref, url, method: "PUT" as const, expiresAt };
      }),
    );
    return { uploads };
  },
});
