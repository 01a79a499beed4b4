// What is in the editor, kept while the user visits other pages.
import type { Execution, Script } from "./api/client";
import type { LimitName } from "./limits";

class Draft {
  runtime = $state("");
  code = $state("");
  stdin = $state("");
  limits = $state<Partial<Record<LimitName, number | null>>>({});
  // The saved script being edited (Save updates it), if any.
  script = $state<Script | null>(null);
  // The last run shown in the result panel.
  execution = $state<Execution | null>(null);

  openScript(script: Script): void {
    this.script = script;
    this.runtime = script.runtime;
    this.code = script.content;
    this.stdin = script.stdin;
  }

  openExecution(execution: Execution): void {
    this.runtime = execution.runtime;
    this.code = execution.script;
    this.stdin = execution.stdin;
    this.execution = execution;
  }
}

export const draft = new Draft();
