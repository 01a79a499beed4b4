// Limits the editor offers: each starts at the server default and may go up to its maximum.
import type { Limits, LimitsRequest } from "./api/client";

export type LimitName = keyof Limits;

export interface LimitField {
  name: LimitName;
  label: string;
  unit: string;
  step: number;
}

// The ones worth a control on the page; the rest keep their server defaults.
export const LIMIT_FIELDS: LimitField[] = [
  { name: "wall_seconds", label: "Wall time", unit: "s", step: 1 },
  { name: "cpu_seconds", label: "CPU time", unit: "s", step: 1 },
  { name: "memory_mb", label: "Memory", unit: "MiB", step: 16 },
  { name: "processes", label: "Processes", unit: "", step: 1 },
];

/** The value to send: a number within (0, maximum], or null to keep the default. */
export function clampLimit(value: number | null | undefined, maximum: number): number | null {
  if (value === null || value === undefined || !Number.isFinite(value) || value <= 0) return null;
  return Math.min(value, maximum);
}

/** Only the limits that differ from the defaults, each within its maximum. */
export function limitsRequest(
  asked: Partial<Record<LimitName, number | null>>,
  defaults: Limits,
  maxima: Limits,
): LimitsRequest | null {
  const request: LimitsRequest = {};
  let any = false;
  for (const name of Object.keys(asked) as LimitName[]) {
    const value = clampLimit(asked[name], maxima[name]);
    if (value !== null && value !== defaults[name]) {
      request[name] = value;
      any = true;
    }
  }
  return any ? request : null;
}
