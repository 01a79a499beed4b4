// The page's one error line (role="alert"): every failure lands here, never a blank page.
import { messageOf } from "./problem";

class Notices {
  error = $state("");
  info = $state("");

  fail(error: unknown): void {
    this.info = "";
    this.error = messageOf(error);
  }

  say(message: string): void {
    this.error = "";
    this.info = message;
  }

  clear(): void {
    this.error = "";
    this.info = "";
  }
}

export const notices = new Notices();
