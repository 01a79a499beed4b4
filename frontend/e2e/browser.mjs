// Shared by the browser suites: Debian's Chromium through playwright-core (no browser download),
// an axe-core scan, screenshots, and a step runner that says which step failed.
import { mkdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const AXE_SOURCE = await readFile(require.resolve("axe-core/axe.min.js"), "utf8");

// The flags the docs-site test uses: nothing of Chromium's own may reach for the network, and
// every host name but 127.0.0.1 fails to resolve, so a stray request fails at once.
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-extensions",
  "--disable-default-apps",
  "--disable-features=AutofillServerCommunication,Translate,OptimizationHints," +
    "NetworkTimeServiceQuerying,MediaRouter",
  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
];

export async function launch({ executablePath, netLog }) {
  const args = [...FLAGS];
  if (netLog) args.push(`--log-net-log=${netLog}`, "--net-log-capture-mode=Default");
  return chromium.launch({ executablePath, headless: true, args });
}

/** A page that records Content-Security-Policy violations and uncaught errors. */
export async function newPage(browser, { colorScheme = "light" } = {}) {
  const context = await browser.newContext({
    viewport: { width: 1366, height: 860 },
    colorScheme,
    reducedMotion: "reduce",
  });
  const page = await context.newPage();
  page.problems = [];
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text()))
      page.problems.push(`CSP: ${message.text()}`);
  });
  page.on("pageerror", (error) => page.problems.push(`uncaught: ${error.message}`));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      console.error(
        `Content Security Policy violation: ${event.violatedDirective} ${event.blockedURI}`,
      );
    });
  });
  return page;
}

/** axe-core on the page as it is now: serious or critical violations fail the step. */
export async function axe(page, name) {
  await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(async () => {
    // @ts-expect-error: injected above
    const report = await window.axe.run(document, { resultTypes: ["violations"] });
    return report.violations.map((violation) => ({
      id: violation.id,
      impact: violation.impact,
      help: violation.help,
      nodes: violation.nodes.map((node) => node.target.join(" ")).slice(0, 5),
    }));
  });
  const bad = result.filter((violation) => ["serious", "critical"].includes(violation.impact));
  if (bad.length) {
    throw new Error(
      `axe found serious/critical violations on ${name}:\n${JSON.stringify(bad, null, 2)}`,
    );
  }
  return result.length;
}

export async function screenshot(page, dir, name) {
  await mkdir(dir, { recursive: true });
  const path = `${dir}/${name}.png`;
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Run named steps in order; the first failure names its step and leaves a screenshot. */
export async function steps(page, dir, list) {
  const done = [];
  for (const [name, body] of list) {
    const started = Date.now();
    try {
      await body();
    } catch (error) {
      const shot = await screenshot(page, dir, `FAILED-${name.replace(/\W+/g, "-")}`).catch(
        () => "",
      );
      throw new Error(`step "${name}" failed (${shot}): ${error.stack ?? error}`, { cause: error });
    }
    done.push(name);
    console.log(`ok  ${name} (${Date.now() - started} ms)`);
  }
  if (page.problems.length)
    throw new Error(`the page reported problems:\n${page.problems.join("\n")}`);
  return done;
}
