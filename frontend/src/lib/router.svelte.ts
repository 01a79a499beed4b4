// Client-side routes on real paths (the API serves index.html for any path outside /api).

export type Page = "editor" | "history" | "scripts" | "signin";

const PATHS: Record<Page, string> = {
  editor: "/",
  history: "/history",
  scripts: "/scripts",
  signin: "/signin",
};

export function pageOf(pathname: string): Page {
  const found = (Object.keys(PATHS) as Page[]).find((page) => PATHS[page] === pathname);
  return found ?? "editor";
}

class Router {
  page = $state<Page>(pageOf(location.pathname));
  params = $state(new URLSearchParams(location.search));

  constructor() {
    addEventListener("popstate", () => this.sync());
  }

  go(page: Page, params: Record<string, string> = {}): void {
    const search = new URLSearchParams(params).toString();
    history.pushState(null, "", PATHS[page] + (search ? `?${search}` : ""));
    this.sync();
  }

  href(page: Page): string {
    return PATHS[page];
  }

  private sync(): void {
    this.page = pageOf(location.pathname);
    this.params = new URLSearchParams(location.search);
  }
}

export const router = new Router();
