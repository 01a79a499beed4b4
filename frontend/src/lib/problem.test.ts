import { describe as group, expect, it } from "vitest";
import { ProblemError, describe, toProblem, unwrap } from "./problem";

group("toProblem", () => {
  it("keeps the API's detail, title and field errors", () => {
    const problem = toProblem(422, {
      type: "about:blank",
      title: "Unprocessable Content",
      status: 422,
      detail: "requested limits exceed the server maxima: wall_seconds=999 (maximum 120)",
      errors: [{ field: "limits.wall_seconds", message: "too high" }],
    });
    expect(describe(problem)).toBe(
      "422 Unprocessable Content: requested limits exceed the server maxima: wall_seconds=999 (maximum 120)",
    );
    expect(problem.errors).toEqual([{ field: "limits.wall_seconds", message: "too high" }]);
  });

  it("adds Retry-After to a 429", () => {
    const headers = new Headers({ "Retry-After": "7" });
    const problem = toProblem(429, { title: "Too Many Requests", detail: "too many" }, headers);
    expect(describe(problem)).toBe("429 Too Many Requests: too many (retry in 7 s)");
    const said = toProblem(429, { title: "Too Many Requests", detail: "retry in 7 s" }, headers);
    expect(describe(said)).toBe("429 Too Many Requests: retry in 7 s");
  });

  it("says something readable when the body is not a problem", () => {
    expect(toProblem(503, "<html>bad gateway</html>").detail).toMatch(/not ready/);
    expect(toProblem(418, null).detail).toBe("The request failed with HTTP 418.");
    expect(toProblem(422, { detail: "   " }).detail).toMatch(/could not accept/);
  });
});

group("unwrap", () => {
  it("returns the data of a success", async () => {
    const response = new Response("{}", { status: 200 });
    await expect(unwrap(Promise.resolve({ data: { id: "x" }, response }))).resolves.toEqual({
      id: "x",
    });
  });

  it("throws the problem of a failure", async () => {
    const response = new Response("", { status: 503, headers: { "Retry-After": "5" } });
    const call = Promise.resolve({
      error: { title: "Service Unavailable", detail: "Redis is down" },
      response,
    });
    await expect(unwrap(call)).rejects.toThrow(
      new ProblemError(
        toProblem(503, { title: "Service Unavailable", detail: "Redis is down" }, response.headers),
      ),
    );
  });

  it("turns a refused connection into a sentence", async () => {
    await expect(unwrap(Promise.reject(new TypeError("Failed to fetch")))).rejects.toThrow(
      /did not answer \(Failed to fetch\)/,
    );
  });
});
