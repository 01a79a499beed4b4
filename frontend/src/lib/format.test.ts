import { expect, it } from "vitest";
import { formatBytes, formatReason, formatSeconds, formatWhen } from "./format";

it("formats bytes, seconds and reasons for people", () => {
  expect(formatBytes(512)).toBe("512 B");
  expect(formatBytes(9 * 1024 * 1024 + 1)).toBe("9.0 MiB");
  expect(formatBytes(300 * 1024)).toBe("300 KiB");
  expect(formatSeconds(0.0421)).toBe("42 ms");
  expect(formatSeconds(2.5)).toBe("2.50 s");
  expect(formatReason("timed_out")).toBe("timed out");
  expect(formatReason("something_new")).toBe("something new");
});

it("says how long ago, then the date", () => {
  const now = new Date("2026-12-03T10:00:00Z");
  expect(formatWhen("2026-12-03T09:59:30Z", now)).toBe("just now");
  expect(formatWhen("2026-12-03T09:30:00Z", now)).toBe("30 min ago");
  expect(formatWhen("2026-11-01T08:05:00Z", now)).toBe("2026-11-01 08:05");
});
