// One headless-Chromium screenshot of a running server's page:
//   node e2e/screenshot.mjs http://127.0.0.1:8000/ out.png
import { launch, newPage } from "./browser.mjs";

const [url = "http://127.0.0.1:8000/", path = "../artifacts/web/page.png"] = process.argv.slice(2);
const browser = await launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium" });
try {
  const page = await newPage(browser);
  await page.goto(url);
  await page.getByRole("main").locator("select, h1").first().waitFor({ timeout: 30_000 });
  await page.waitForLoadState("networkidle");
  await page.screenshot({ path, fullPage: true });
  if (page.problems.length) throw new Error(page.problems.join("\n"));
  console.log(`wrote ${path}`);
} finally {
  await browser.close();
}
