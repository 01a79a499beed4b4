// The typed API client: paths and bodies come from schema.d.ts, generated from
// docs/reference/openapi.json by `make openapi`, so the page cannot drift from the API.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Execution = Schemas["ExecutionOut"];
export type ExecutionStatus = Schemas["ExecutionStatus"];
export type Limits = Schemas["Limits"];
export type LimitsRequest = Schemas["LimitsRequest"];
export type Runtime = Schemas["RuntimeOut"];
export type Script = Schemas["ScriptOut"];
export type User = Schemas["UserOut"];
export type AuthSettings = Schemas["AuthSettings"];
export type Result = Schemas["Result"];

/** One `status` event of GET /executions/{id}/events (server-sent events carry no schema). */
export interface StatusUpdate {
  execution_id: string;
  status: ExecutionStatus;
  occurred_at: string;
  result: Result | null;
}

export const CSRF_COOKIE = "sandpod_csrf";
export const CSRF_HEADER = "X-CSRF-Token";
const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** The value of one cookie of this page, or "" (the CSRF cookie is readable on purpose). */
export function readCookie(cookies: string, name: string): string {
  for (const part of cookies.split(";")) {
    const [key, ...value] = part.trim().split("=");
    if (key === name) return decodeURIComponent(value.join("="));
  }
  return "";
}

// Signed-in browsers carry the httpOnly session cookie; writes must echo the CSRF cookie.
const csrf: Middleware = {
  onRequest({ request }) {
    if (UNSAFE.has(request.method)) {
      const token = readCookie(document.cookie, CSRF_COOKIE);
      if (token) request.headers.set(CSRF_HEADER, token);
    }
    return request;
  },
};

export const api = createClient<paths>({ baseUrl: "", credentials: "same-origin" });
api.use(csrf);
