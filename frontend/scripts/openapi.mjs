// Generate src/lib/api/schema.d.ts from docs/reference/openapi.json (`make openapi` runs it).
// `--check` exits 1 when the committed file differs from what the spec gives (drift).
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";

export const SPEC = fileURLToPath(new URL("../../docs/reference/openapi.json", import.meta.url));
export const TYPES = fileURLToPath(new URL("../src/lib/api/schema.d.ts", import.meta.url));
const HEADER =
  "// Generated from docs/reference/openapi.json by `make openapi` (frontend/scripts/openapi.mjs).\n" +
  "// Do not edit: change the API, then run `make openapi`.\n\n";

/** The TypeScript the spec gives, exactly as committed. */
export async function generate() {
  const spec = JSON.parse(await readFile(SPEC, "utf8"));
  return HEADER + astToString(await openapiTS(spec, { alphabetize: true }));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const wanted = await generate();
  if (process.argv.includes("--check")) {
    const current = await readFile(TYPES, "utf8").catch(() => "");
    if (current !== wanted) {
      console.error(
        "src/lib/api/schema.d.ts is out of date with the OpenAPI spec: run `make openapi`",
      );
      process.exit(1);
    }
  } else {
    await writeFile(TYPES, wanted);
    console.log("wrote frontend/src/lib/api/schema.d.ts (from docs/reference/openapi.json)");
  }
}
