/** The OpenAPI 3.1 document of the HTTP API, generated from the routes' zod schemas. */

import type { z } from "zod";
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject } from "zod-openapi";
import type { ErrorStatus, Route } from "./route.ts";
import { ErrorSchema } from "./schemas.ts";

const ERROR_TEXT: Record<ErrorStatus, string> = {
  400: "Bad input: `error.field` names the field",
  401: "Missing or unknown credentials",
  404: "No such session or task (for this tenant)",
  409: "The session is not open (closed or cancelled)",
  410: "The cursor expired: read again without one",
  413: "The body or a payload is too large",
  415: "The body is not application/json",
};

function hasKeys(schema: z.ZodType): boolean {
  const shape = (schema as { shape?: Record<string, unknown> }).shape;
  return shape !== undefined && Object.keys(shape).length > 0;
}

function operation(route: Route): ZodOpenApiOperationObject {
  const errors = new Set<ErrorStatus>([
    ...(route.authenticated === false ? [] : [401 as const]),
    ...route.errors,
  ]);
  if (route.body || hasKeys(route.params) || hasKeys(route.query)) errors.add(400);
  const responses: ZodOpenApiOperationObject["responses"] = {
    [route.status]: {
      description: route.summary,
      content: { "application/json": { schema: route.response } },
    },
  };
  for (const status of [...errors].sort()) {
    responses[String(status) as `${ErrorStatus}`] = {
      description: ERROR_TEXT[status],
      content: { "application/json": { schema: ErrorSchema } },
    };
  }
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: route.tags,
    ...(route.authenticated === false ? { security: [] } : {}),
    requestParams: {
      ...(hasKeys(route.params) ? { path: route.params as z.ZodObject } : {}),
      ...(hasKeys(route.query) ? { query: route.query as z.ZodObject } : {}),
    },
    ...(route.body
      ? { requestBody: { required: true, content: { "application/json": { schema: route.body } } } }
      : {}),
    responses,
  };
}

/** Builds the document. */
export function openApiDocument(
  routes: readonly Route[],
  version = "0.1.0",
): ReturnType<typeof createDocument> {
  const paths: ZodOpenApiPathsObject = {};
  for (const route of routes) {
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: operation(route) };
  }
  return createDocument({
    openapi: "3.1.0",
    info: {
      title: "Tessera grid API",
      version,
      description:
        "Sessions of tasks on a serverless HTC grid. Authenticate with IAM (SigV4) or a JWT on AWS, or a bearer token from the local config on the local grid; the tenant comes from the identity.",
    },
    security: [{ sigv4: [] }, { bearer: [] }],
    components: {
      securitySchemes: {
        sigv4: {
          type: "apiKey",
          name: "Authorization",
          in: "header",
          description: "AWS Signature Version 4 (IAM)",
        },
        bearer: {
          type: "http",
          scheme: "bearer",
          description: "JWT on AWS; a token from the local config locally",
        },
      },
    },
    paths,
  });
}
