// Drift check: the committed client types are exactly what the committed OpenAPI spec gives.
import { readFile } from "node:fs/promises";
import { expect, it } from "vitest";
// @ts-expect-error: a plain .mjs build script without type declarations
import { TYPES, generate } from "../../../scripts/openapi.mjs";

it("schema.d.ts matches docs/reference/openapi.json (run `make openapi` when it does not)", async () => {
  const committed = await readFile(TYPES as string, "utf8");
  expect(committed === (await generate()), "schema.d.ts is stale: run `make openapi`").toBe(true);
});
