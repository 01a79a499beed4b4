import { expect, it } from "vitest";
import type { Limits } from "./api/client";
import { clampLimit, limitsRequest } from "./limits";

const defaults: Limits = {
  wall_seconds: 10,
  cpu_seconds: 5,
  memory_mb: 128,
  processes: 32,
  output_bytes: 1 << 20,
  file_size_mb: 16,
  tmp_mb: 32,
};
const maxima: Limits = { ...defaults, wall_seconds: 120, memory_mb: 1024 };

it("never asks for more than the maximum, and ignores nonsense", () => {
  expect(clampLimit(500, 120)).toBe(120);
  expect(clampLimit(3, 120)).toBe(3);
  for (const bad of [0, -1, Number.NaN, null, undefined]) expect(clampLimit(bad, 120)).toBeNull();
});

it("sends only what differs from the defaults", () => {
  expect(limitsRequest({ wall_seconds: 10, memory_mb: null }, defaults, maxima)).toBeNull();
  expect(limitsRequest({ wall_seconds: 999, memory_mb: 256 }, defaults, maxima)).toEqual({
    wall_seconds: 120,
    memory_mb: 256,
  });
});
