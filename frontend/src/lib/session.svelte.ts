// Who is signed in, and whether this server has accounts at all (GET /auth/settings).
import { api, type AuthSettings, type User } from "./api/client";
import { ProblemError, unwrap } from "./problem";

class Session {
  settings = $state<AuthSettings | null>(null);
  user = $state<User | null>(null);
  ready = $state(false);
  failed = $state(false);

  get needsSignIn(): boolean {
    return this.settings?.accounts === true && this.user === null;
  }

  async load(): Promise<void> {
    this.failed = false;
    try {
      await this.fetch();
    } catch (error) {
      this.failed = true;
      throw error;
    }
  }

  private async fetch(): Promise<void> {
    this.settings = await unwrap(api.GET("/api/v1/auth/settings"));
    try {
      this.user = await unwrap(api.GET("/api/v1/auth/me"));
    } catch (error) {
      if (!(error instanceof ProblemError && error.problem.status === 401)) throw error;
      this.user = null;
    }
    this.ready = true;
  }

  async signIn(username: string, password: string): Promise<void> {
    // The session cookie (httpOnly) and the CSRF cookie come with the answer.
    await unwrap(api.POST("/api/v1/auth/login", { body: { username, password } }));
    this.user = await unwrap(api.GET("/api/v1/auth/me"));
  }

  async register(username: string, password: string): Promise<void> {
    await unwrap(api.POST("/api/v1/auth/register", { body: { username, password } }));
    await this.signIn(username, password);
  }

  async signOut(): Promise<void> {
    await unwrap(api.POST("/api/v1/auth/logout"));
    this.user = null;
  }
}

export const session = new Session();
