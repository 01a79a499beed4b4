// Output files of an execution, when the server offers them (GET /executions/{id}/files is added
// by the runtimes work; a server without it answers 404, and the page shows no files section).

export interface OutputFile {
  name: string;
  size: number;
  url: string;
  isImage: boolean;
}

const IMAGE = /\.(png|jpe?g|gif|webp|svg)$/i;

export function parseFiles(executionId: string, body: unknown): OutputFile[] {
  const items = Array.isArray(body)
    ? body
    : typeof body === "object" &&
        body !== null &&
        Array.isArray((body as { items?: unknown }).items)
      ? (body as { items: unknown[] }).items
      : [];
  const base = `/api/v1/executions/${encodeURIComponent(executionId)}/files/`;
  return items.flatMap((item) => {
    if (typeof item !== "object" || item === null) return [];
    const { name, size } = item as { name?: unknown; size?: unknown };
    if (typeof name !== "string" || !name) return [];
    return [
      {
        name,
        size: typeof size === "number" ? size : 0,
        url: base + name.split("/").map(encodeURIComponent).join("/"),
        isImage: IMAGE.test(name),
      },
    ];
  });
}

export async function outputFiles(executionId: string): Promise<OutputFile[]> {
  const response = await fetch(`/api/v1/executions/${encodeURIComponent(executionId)}/files`, {
    credentials: "same-origin",
  });
  if (!response.ok) return []; // 404: this server has no output files
  return parseFiles(executionId, await response.json());
}
