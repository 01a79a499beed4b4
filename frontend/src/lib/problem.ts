// Turn any failed request into one sentence a person can act on: the API's problem+json
// `detail` when there is one, else what the status means. The page never goes blank on an error.

export interface Problem {
  status: number;
  title: string;
  detail: string;
  retryAfter?: number;
  errors?: { field: string; message: string }[];
}

const FALLBACK: Record<number, string> = {
  401: "Sign in first.",
  403: "You are not allowed to do that.",
  404: "Not found.",
  409: "That conflicts with the current state; reload and try again.",
  413: "That is too large for this server.",
  422: "The server could not accept that input.",
  429: "Too many requests; wait a moment and try again.",
  500: "The server failed; the error is in its log.",
  502: "The server is unreachable.",
  503: "The server is not ready; try again shortly.",
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** A Problem from a status, the parsed body (problem+json or anything else) and headers. */
export function toProblem(status: number, body: unknown, headers?: Headers): Problem {
  const record = isRecord(body) ? body : {};
  const detail =
    typeof record.detail === "string" && record.detail.trim()
      ? record.detail
      : (FALLBACK[status] ?? `The request failed with HTTP ${status}.`);
  const title = typeof record.title === "string" ? record.title : `HTTP ${status}`;
  const problem: Problem = { status, title, detail };
  const retry = Number(headers?.get("Retry-After"));
  if (Number.isFinite(retry) && retry > 0) problem.retryAfter = retry;
  if (Array.isArray(record.errors)) {
    problem.errors = record.errors.filter(isRecord).map((item) => ({
      field: String(item.field ?? ""),
      message: String(item.message ?? ""),
    }));
  }
  return problem;
}

/** A network failure (server down, connection refused) as a Problem. */
export function networkProblem(error: unknown): Problem {
  const reason = error instanceof Error ? error.message : String(error);
  return {
    status: 0,
    title: "No answer",
    detail: `The server did not answer (${reason}). Is \`make run\` still running?`,
  };
}

/** The one line shown to a person. */
export function describe(problem: Problem): string {
  const said = /retry/i.test(problem.detail); // the API's 429 details already say when
  const retry = problem.retryAfter && !said ? ` (retry in ${problem.retryAfter} s)` : "";
  const prefix = problem.status ? `${problem.status} ${problem.title}: ` : "";
  return `${prefix}${problem.detail}${retry}`;
}

export class ProblemError extends Error {
  constructor(readonly problem: Problem) {
    super(describe(problem));
    this.name = "ProblemError";
  }
}

/** The data of an openapi-fetch answer, or a ProblemError carrying the API's detail. */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let answer: { data?: T; error?: unknown; response: Response };
  try {
    answer = await call;
  } catch (error) {
    throw new ProblemError(networkProblem(error));
  }
  if (!answer.response.ok) {
    throw new ProblemError(
      toProblem(answer.response.status, answer.error, answer.response.headers),
    );
  }
  return answer.data as T;
}

export function messageOf(error: unknown): string {
  if (error instanceof ProblemError) return error.message;
  return describe(networkProblem(error));
}
