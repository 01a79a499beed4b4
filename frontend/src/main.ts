import { mount } from "svelte";
import "./app.css";
import App from "./App.svelte";
import { notices } from "./lib/notices.svelte";
import { applyTheme, storedTheme } from "./lib/theme";

applyTheme(storedTheme());
// Whatever fails later is shown in the page's alert line, never as a blank page.
addEventListener("unhandledrejection", (event) => notices.fail(event.reason));
addEventListener("error", (event) => notices.fail(event.error ?? event.message));

const target = document.getElementById("app");
if (target) mount(App, { target });
