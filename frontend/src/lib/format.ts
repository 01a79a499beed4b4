// How numbers and times of a result read on the page.

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function formatSeconds(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
}

const REASONS: Record<string, string> = {
  completed: "completed",
  failed: "exited with an error",
  timed_out: "timed out",
  memory_limit: "hit the memory limit",
  output_limit: "hit the output limit",
  cancelled: "cancelled",
  platform_error: "platform error",
};

export function formatReason(reason: string): string {
  return REASONS[reason] ?? reason.replaceAll("_", " ");
}

export function formatWhen(iso: string, now: Date = new Date()): string {
  const when = new Date(iso);
  const seconds = Math.round((now.getTime() - when.getTime()) / 1000);
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return when.toISOString().slice(0, 16).replace("T", " ");
}

export const TERMINAL = new Set(["completed", "failed", "timed_out", "cancelled", "errored"]);
