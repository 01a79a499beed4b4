// Follow one execution: server-sent `status` events, with polling when the stream breaks.
import { api, type Execution, type StatusUpdate } from "./api/client";
import { TERMINAL } from "./format";
import { unwrap } from "./problem";

export interface Follower {
  stop(): void;
}

export function follow(
  id: string,
  onUpdate: (update: StatusUpdate) => void,
  onDone: (execution: Execution) => void,
  onError: (error: unknown) => void,
): Follower {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const source = new EventSource(`/api/v1/executions/${encodeURIComponent(id)}/events`);

  const finish = async () => {
    try {
      const execution = await unwrap(
        api.GET("/api/v1/executions/{execution_id}", { params: { path: { execution_id: id } } }),
      );
      if (stopped) return;
      if (TERMINAL.has(execution.status)) {
        stopped = true;
        onDone(execution);
      } else {
        timer = setTimeout(finish, 1000); // the stream broke: poll until it ends
      }
    } catch (error) {
      stopped = true;
      onError(error);
    }
  };

  source.addEventListener("status", (event) => {
    const update = JSON.parse((event as MessageEvent<string>).data) as StatusUpdate;
    onUpdate(update);
    if (TERMINAL.has(update.status)) {
      source.close();
      void finish();
    }
  });
  source.addEventListener("error", () => {
    // A closed or refused stream: the GET says why (404, 503), or keeps watching.
    source.close();
    if (!stopped) void finish();
  });

  return {
    stop() {
      stopped = true;
      source.close();
      clearTimeout(timer);
    },
  };
}
