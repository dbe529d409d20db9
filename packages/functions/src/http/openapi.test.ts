import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { openApiDocument } from "./openapi.ts";
import { API_ROUTES } from "./routes.ts";

describe("OpenAPI document", () => {
  const generated = JSON.parse(JSON.stringify(openApiDocument(API_ROUTES)));

  it("matches the committed docs/openapi.json (run `npm run openapi` after changing a schema)", () => {
    const committed = JSON.parse(
      readFileSync(new URL("../../../../docs/openapi.json", import.meta.url), "utf8"),
    );
    expect(generated).toEqual(committed);
  });

  it("documents every route with its parameters, body, success and error responses", () => {
    for (const route of API_ROUTES) {
      const op = generated.paths[route.path]?.[route.method.toLowerCase()];
      expect(op, `${route.method} ${route.path}`).toBeDefined();
      expect(op.operationId).toBe(route.operationId);
      expect(Object.keys(op.responses)).toContain(String(route.status));
      expect(Object.keys(op.responses)).toContain("401");
      for (const name of route.path.match(/\{(\w+)\}/g) ?? []) {
        const param = name.slice(1, -1);
        expect(
          op.parameters.some((p: { name: string; in: string }) => p.name === param && p.in === "path"),
        ).toBe(true);
      }
      if (route.body) expect(op.requestBody.content["application/json"].schema).toBeDefined();
    }
    expect(generated.components.schemas.SubmitTasksRequest.properties.tasks.maxItems).toBe(10_000);
  });
});
