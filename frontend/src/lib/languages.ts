// Syntax highlighting per runtime language, loaded only when a runtime of that language is picked
// (each pack is its own chunk, so the first load carries only the editor and Python).
import type { LanguageSupport } from "@codemirror/language";
import { python } from "@codemirror/lang-python";

const LOADERS: Record<string, () => Promise<LanguageSupport>> = {
  python: async () => python(),
  javascript: async () => (await import("@codemirror/lang-javascript")).javascript(),
  typescript: async () =>
    (await import("@codemirror/lang-javascript")).javascript({ typescript: true }),
  node: async () => (await import("@codemirror/lang-javascript")).javascript(),
  go: async () => (await import("@codemirror/lang-go")).go(),
  rust: async () => (await import("@codemirror/lang-rust")).rust(),
  c: async () => (await import("@codemirror/lang-cpp")).cpp(),
  cpp: async () => (await import("@codemirror/lang-cpp")).cpp(),
  java: async () => (await import("@codemirror/lang-java")).java(),
};

/** The language support for a runtime's language, or null for plain text. */
export async function languageFor(language: string): Promise<LanguageSupport | null> {
  const load = LOADERS[language.toLowerCase()];
  return load ? load() : null;
}
