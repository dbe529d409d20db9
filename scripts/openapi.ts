/**
 * `npm run openapi`: writes docs/openapi.json from the API's zod schemas. A test fails when the
 * committed document differs from what the schemas generate, so run this after changing them.
 */
import { writeFileSync } from "node:fs";
import { API_ROUTES, openApiDocument } from "@tessera/functions";

const path = new URL("../docs/openapi.json", import.meta.url);
writeFileSync(path, `${JSON.stringify(openApiDocument(API_ROUTES), null, 2)}\n`);
console.log(`wrote ${path.pathname}`);
