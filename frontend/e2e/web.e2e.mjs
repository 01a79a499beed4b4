// The web page in a real browser against a real embedded server (started by
// backend/tests/integration/test_web_page.py, which also checks Chromium's net log).
//   SANDPOD_URL       the server, e.g. http://127.0.0.1:8123
//   WEB_MODE          "accounts" (sign-in on), "open" (auth off on loopback) or "outage" (a 503)
//   WEB_ARTIFACTS     where screenshots go
//   CHROMIUM          the browser binary; NET_LOG where Chromium writes its net log
//   WEB_PASSWORD      the password to register with (accounts mode)
import assert from "node:assert/strict";
import { axe, launch, newPage, screenshot, steps } from "./browser.mjs";

const BASE = process.env.SANDPOD_URL;
const MODE = process.env.WEB_MODE ?? "open";
const DIR = process.env.WEB_ARTIFACTS ?? "../artifacts/web";
const PASSWORD = process.env.WEB_PASSWORD ?? "a long web passphrase 42";
const TIMEOUT = 30_000;
assert.ok(BASE, "SANDPOD_URL is required");

const browser = await launch({ executablePath: process.env.CHROMIUM, netLog: process.env.NET_LOG });
const page = await newPage(browser);
page.setDefaultTimeout(TIMEOUT);
const shots = [];
const alert = page.getByRole("alert");
const status = page.getByTestId("status");
const editor = page.getByRole("textbox", { name: /^Script/ });
const runButton = page.getByRole("button", { name: "Run", exact: true });

async function shot(name) {
  shots.push(await screenshot(page, DIR, `${MODE}-${name}`));
}

async function setCode(code) {
  await editor.click();
  await page.keyboard.press("ControlOrMeta+a");
  await page.keyboard.press("Delete");
  if (code) await page.keyboard.insertText(code);
}

const executionId = page.getByTestId("execution-id");

/** The id shown now ("" before any run), to tell a new run from the one before it. */
async function shownId() {
  return (await executionId.count()) ? await executionId.innerText() : "";
}

/** Wait until a run other than `before` is shown and has reached `finalStatus`. */
async function waitForRun(before, finalStatus) {
  await page.waitForFunction((old) => {
    const shown = document.querySelector("[data-testid=execution-id]")?.textContent ?? "";
    return shown !== "" && shown !== old;
  }, before);
  await status.filter({ hasText: finalStatus.replace("_", " ") }).waitFor();
}

async function runAndWait(code, finalStatus) {
  await setCode(code);
  const before = await shownId();
  await runButton.click();
  await waitForRun(before, finalStatus);
}

async function nav(name) {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name }).click();
}

const openEditor = [
  "the editor loads with a runtime and its example",
  async () => {
    await page.goto(`${BASE}/`);
    await editor.waitFor();
    const runtime = page.getByRole("combobox", { name: "Runtime" });
    await assert.doesNotReject(runtime.locator("option").first().waitFor({ state: "attached" }));
    assert.match(await runtime.inputValue(), /^python:/);
    assert.match(await editor.innerText(), /Hello, /); // the runtime's example
  },
];

const editorSteps = [
  [
    "hello world runs and shows its output",
    async () => {
      await runAndWait('print("hello from the web page")', "completed");
      assert.match(await page.getByTestId("stdout").innerText(), /hello from the web page/);
      assert.equal(await page.getByTestId("exit-code").innerText(), "0");
      await shot("editor");
      await axe(page, "the editor");
    },
  ],
  [
    "a failing script shows its exit code and end reason",
    async () => {
      await runAndWait("import sys\nprint('bad news', file=sys.stderr)\nsys.exit(3)", "failed");
      assert.equal(await page.getByTestId("exit-code").innerText(), "3");
      assert.match(await page.getByTestId("end-reason").innerText(), /error/);
      assert.match(await page.getByTestId("stderr").innerText(), /bad news/);
    },
  ],
  [
    "a long script is cancelled",
    async () => {
      await setCode("import time\nprint('started', flush=True)\ntime.sleep(60)");
      const before = await shownId();
      await runButton.click();
      await waitForRun(before, "running");
      await page.getByRole("button", { name: "Cancel" }).click();
      await status.filter({ hasText: "cancelled" }).waitFor();
    },
  ],
  [
    "Run works from the keyboard alone (Ctrl+Enter, and Tab to the button)",
    async () => {
      await setCode("");
      await page.keyboard.insertText("print(6 * 7)");
      const before = await shownId();
      await page.keyboard.press("Control+Enter");
      await waitForRun(before, "completed");
      assert.match(await page.getByTestId("stdout").innerText(), /^42/);
      // From the page's top, Tab reaches Run without a mouse; Enter presses it.
      await setCode("print('by tab')");
      await page.locator("body").focus();
      await page.evaluate(() =>
        document.activeElement instanceof HTMLElement ? document.activeElement.blur() : null,
      );
      let reached = false;
      for (let i = 0; i < 40 && !reached; i += 1) {
        await page.keyboard.press("Tab");
        reached = await page.evaluate(() => document.activeElement?.textContent?.trim() === "Run");
      }
      assert.ok(reached, "Tab never reached the Run button");
      await page.keyboard.press("Enter");
      await page.getByTestId("stdout").filter({ hasText: "by tab" }).waitFor();
    },
  ],
  [
    "an empty script is refused with the API's 422 detail",
    async () => {
      await setCode("   ");
      await runButton.click();
      await alert.filter({ hasText: "422" }).waitFor();
      assert.match(await alert.innerText(), /script is empty/);
      await shot("error-422");
    },
  ],
];

const historySteps = [
  [
    "history lists the runs, filters by status, opens and re-runs one",
    async () => {
      await nav("History");
      await page.getByRole("heading", { name: "History" }).waitFor();
      const rows = page.getByTestId("history-row");
      await rows.first().waitFor();
      assert.ok((await rows.count()) >= 4, `expected at least 4 runs, saw ${await rows.count()}`);
      await assert.doesNotReject(rows.filter({ hasText: "cancelled" }).first().waitFor());
      await shot("history");
      await axe(page, "history");
      await page.getByRole("combobox", { name: "Status" }).selectOption("failed");
      await page.waitForFunction(() =>
        [...document.querySelectorAll("[data-testid=history-row]")].every((row) =>
          row.textContent?.includes("failed"),
        ),
      );
      assert.ok((await rows.count()) >= 1);
      await rows.first().getByRole("button", { name: /^Open/ }).click();
      await page.getByTestId("exit-code").filter({ hasText: "3" }).waitFor();
      assert.match(await editor.innerText(), /sys\.exit\(3\)/);
      await nav("History");
      await page.getByRole("combobox", { name: "Status" }).selectOption("completed");
      const before = await shownId();
      await rows
        .filter({ hasText: "completed" })
        .first()
        .getByRole("button", { name: /^Re-run/ })
        .click();
      await waitForRun(before, "completed");
    },
  ],
];

const scriptSteps = [
  [
    "a script is saved, renamed and deleted",
    async () => {
      await nav("Editor");
      await setCode("print('saved script')");
      await page.getByRole("textbox", { name: "Save as" }).fill("greeting");
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await alert.filter({ hasText: "Saved “greeting”" }).waitFor();
      await nav("Scripts");
      const row = page.getByTestId("script-row").filter({ hasText: "greeting" });
      await row.waitFor();
      await row.getByRole("button", { name: /^Rename/ }).click();
      await page.getByRole("textbox", { name: "New name" }).fill("greeting, renamed");
      await page.getByRole("button", { name: "Save name" }).click();
      await page.getByTestId("script-name").filter({ hasText: "greeting, renamed" }).waitFor();
      await shot("scripts");
      await axe(page, "saved scripts");
      // Opening it brings its code back into the editor.
      await page.getByTestId("script-row").first().getByRole("button", { name: /^Open/ }).click();
      await page.getByText("print('saved script')").waitFor();
      await nav("Scripts");
      const renamed = page.getByTestId("script-row").filter({ hasText: "greeting, renamed" });
      await renamed.getByRole("button", { name: /^Delete/ }).click();
      await renamed.getByRole("button", { name: /^Really delete/ }).click();
      await renamed.waitFor({ state: "detached" });
      await page.getByText("No saved scripts yet").waitFor();
    },
  ],
  [
    "the dark theme",
    async () => {
      await nav("Editor");
      const toggle = page.getByRole("button", { name: /^Theme/ });
      while (!/dark/.test(await toggle.innerText())) await toggle.click();
      await page.waitForFunction(() => document.documentElement.dataset.theme === "dark");
      await runAndWait('print("hello in the dark")', "completed");
      await shot("editor-dark");
      await axe(page, "the editor in the dark theme");
    },
  ],
];

let plan;
if (MODE === "accounts") {
  plan = [
    [
      "the sign-in page comes first, with no editor",
      async () => {
        await page.goto(`${BASE}/`);
        await page.getByRole("heading", { name: "Sign in to sandpod" }).waitFor();
        assert.equal(await editor.count(), 0);
        await shot("signin");
        await axe(page, "sign in");
      },
    ],
    [
      "a new user registers and is signed in",
      async () => {
        await page.getByRole("button", { name: "Create one" }).click();
        await page.getByLabel("Username").fill("webuser");
        await page.getByLabel("Password").fill(PASSWORD);
        await page.getByRole("button", { name: "Create account" }).click();
        await page.getByTestId("user").filter({ hasText: "webuser" }).waitFor();
      },
    ],
    openEditor,
    ...editorSteps,
    ...historySteps,
    ...scriptSteps,
    [
      "after signing out, wrong passwords end in the API's 429 detail",
      async () => {
        await page.getByRole("button", { name: "Sign out" }).click();
        await page.getByRole("heading", { name: "Sign in to sandpod" }).waitFor();
        for (let attempt = 0; attempt < 20; attempt += 1) {
          await page.getByLabel("Username").fill("webuser");
          await page.getByLabel("Password").fill("not the password at all");
          await page.getByRole("button", { name: "Sign in" }).click();
          await alert.filter({ hasText: /401|429/ }).waitFor();
          if (/429/.test(await alert.innerText())) break;
        }
        assert.match(await alert.innerText(), /429 Too Many Requests: too many sign-in attempts/);
        assert.match(await alert.innerText(), /retry in \d+ s/);
        await shot("error-429");
      },
    ],
  ];
} else if (MODE === "open") {
  plan = [
    [
      "with auth off there is no sign-in, only the editor",
      async () => {
        await page.goto(`${BASE}/`);
        await page.getByText("local mode").waitFor();
        assert.equal(await page.getByRole("button", { name: "Sign out" }).count(), 0);
      },
    ],
    openEditor,
    ...editorSteps,
    ...historySteps,
    ...scriptSteps,
    [
      "an unknown page path still opens the app; an unknown API path is a JSON 404",
      async () => {
        await page.goto(`${BASE}/no/such/page`);
        await editor.waitFor();
        const answer = await page.request.get(`${BASE}/api/v1/no-such-route`);
        assert.equal(answer.status(), 404);
        assert.equal(answer.headers()["content-type"], "application/problem+json");
      },
    ],
  ];
} else if (MODE === "outage") {
  plan = [
    [
      "a 503 from an outage shows its detail, not a blank page",
      async () => {
        await page.goto(`${BASE}/`);
        await alert.filter({ hasText: "503" }).waitFor();
        assert.match(await alert.innerText(), /503 Service Unavailable: .*unavailable/);
        assert.match(await page.locator("header").innerText(), /sandpod/);
        await page.getByRole("button", { name: "Try again" }).waitFor();
        await shot("error-503");
        await axe(page, "the outage page");
        await page.getByRole("button", { name: "Try again" }).click();
        await alert.filter({ hasText: "503" }).waitFor(); // still down: the detail comes back
      },
    ],
  ];
} else {
  throw new Error(`unknown WEB_MODE ${MODE}`);
}

let failure;
try {
  await steps(page, DIR, plan);
} catch (error) {
  failure = error;
} finally {
  await browser.close();
}
console.log(JSON.stringify({ screenshots: shots }));
if (failure) {
  console.error(String(failure.message ?? failure));
  process.exit(1);
}
