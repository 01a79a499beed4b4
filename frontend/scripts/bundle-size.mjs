// What a first visit downloads, gzipped: index.html and everything it loads by itself (the entry
// script, its static imports, its CSS), from the built page in backend/sandpod/web/static.
// Language packs loaded later on demand are listed apart. `make bench` runs this.
import { readFile, readdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const STATIC = fileURLToPath(new URL("../../backend/sandpod/web/static/", import.meta.url));
const TARGET_KB = 250;

const gz = async (path) => gzipSync(await readFile(STATIC + path), { level: 9 }).length;
const html = await readFile(`${STATIC}index.html`, "utf8");
const first = new Set(["index.html"]);
for (const [, url] of html.matchAll(/(?:src|href)="\/([^"]+\.(?:js|css|svg))"/g)) first.add(url);
// Static imports of the entry chunks are fetched at once too (Vite names them in the code).
for (const path of [...first].filter((name) => name.endsWith(".js"))) {
  const code = await readFile(STATIC + path, "utf8");
  for (const [, name] of code.matchAll(/from\s*"\.\/([^"]+\.js)"/g)) first.add(`assets/${name}`);
}
const rows = [];
let total = 0;
for (const path of first) {
  const size = await gz(path);
  total += size;
  rows.push([path, size]);
}
const later = (await readdir(`${STATIC}assets`))
  .map((name) => `assets/${name}`)
  .filter((path) => path.endsWith(".js") && !first.has(path));
for (const path of rows)
  console.log(`  first load  ${(path[1] / 1024).toFixed(1).padStart(7)} KB  ${path[0]}`);
for (const path of later)
  console.log(`  on demand   ${((await gz(path)) / 1024).toFixed(1).padStart(7)} KB  ${path}`);
const kb = total / 1024;
console.log(
  `web page first load: ${kb.toFixed(1)} KB gzipped (target < ${TARGET_KB} KB) ${kb < TARGET_KB ? "ok" : "OVER TARGET"}`,
);
process.exit(kb < TARGET_KB ? 0 : 1);
