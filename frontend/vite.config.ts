import { svelte } from "@sveltejs/vite-plugin-svelte";
import { defineConfig } from "vitest/config";

// The build lands inside the backend's package, so the API serves it (sandpod/web/static).
export default defineConfig({
  plugins: [svelte()],
  build: {
    outDir: "../backend/sandpod/web/static",
    emptyOutDir: true,
    assetsDir: "assets",
    // No inlined assets: the page's Content-Security-Policy allows no data: scripts or fonts.
    assetsInlineLimit: 0,
    sourcemap: false,
    target: "es2022",
  },
  server: {
    // `npm run dev` proxies the API of a `make run` server.
    proxy: { "/api": "http://127.0.0.1:8000" },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
