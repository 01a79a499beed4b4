import { expect, it } from "vitest";
import { parseFiles } from "./files";

it("reads a list or a page of files, with safe URLs and images marked", () => {
  const files = parseFiles("ex_1", {
    items: [{ name: "out/plot 1.png", size: 2048 }, { name: "data.csv" }, { size: 3 }, null],
  });
  expect(files).toEqual([
    {
      name: "out/plot 1.png",
      size: 2048,
      url: "/api/v1/executions/ex_1/files/out/plot%201.png",
      isImage: true,
    },
    { name: "data.csv", size: 0, url: "/api/v1/executions/ex_1/files/data.csv", isImage: false },
  ]);
  expect(parseFiles("ex_1", [{ name: "a.txt", size: 1 }])).toHaveLength(1);
  expect(parseFiles("ex_1", "nonsense")).toEqual([]);
});
