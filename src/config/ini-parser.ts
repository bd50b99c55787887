// A small INI reader that keeps line numbers, so every problem and warning can point at its line.
// (The `ini` package drops line numbers and never reports a malformed line, which we must.)

/** One `Key = value` line; `section` is undefined for lines above the first [Section]. */
export interface IniEntry {
  section: string | undefined;
  key: string;
  value: string;
  line: number;
}

/** One `[Section]` line. */
export interface IniSection {
  name: string;
  line: number;
}

/** A line that is neither a comment, a section header nor `Key = value`. */
export interface IniSyntaxError {
  line: number;
  text: string;
  message: string;
}

/** Everything read from one INI text, in file order. */
export interface ParsedIni {
  entries: IniEntry[];
  sections: IniSection[];
  errors: IniSyntaxError[];
}

/** Text after a value that is only a comment: `; ...` or `# ...` (or nothing). */
const TRAILING_COMMENT = /^\s*([#;].*)?$/;

/** A value: quotes are removed, and ` # comment` / ` ; comment` after an unquoted value is dropped. */
function readValue(raw: string): { value: string } | { error: string } {
  const text = raw.trim();
  const quote = text[0];
  if (quote === '"' || quote === "'") {
    const end = text.indexOf(quote, 1);
    if (end < 0) return { error: `the value opens a ${quote} quote that is never closed` };
    if (!TRAILING_COMMENT.test(text.slice(end + 1))) {
      return { error: "only a comment may follow a quoted value" };
    }
    return { value: text.slice(1, end) };
  }
  // A comment marker counts only after whitespace, so values such as "abc#1" survive intact.
  return { value: text.replace(/\s+[#;].*$/, "").trim() };
}

/** Parses INI text: `[Section]`, `Key = value`, comments starting with `#` or `;`, blank lines. */
export function parseIni(text: string): ParsedIni {
  const parsed: ParsedIni = { entries: [], sections: [], errors: [] };
  let section: string | undefined;
  text
    .replace(/^\uFEFF/, "")
    .split(/\r?\n|\r/)
    .forEach((rawLine, index) => {
      const line = index + 1;
      const trimmed = rawLine.trim();
      if (trimmed === "" || trimmed.startsWith("#") || trimmed.startsWith(";")) return;
      const fail = (message: string) => parsed.errors.push({ line, text: trimmed, message });
      if (trimmed.startsWith("[")) {
        const header = /^\[([^\]]*)\](.*)$/.exec(trimmed);
        const name = header?.[1]?.trim() ?? "";
        if (!header || !TRAILING_COMMENT.test(header[2] ?? "") || name === "") {
          fail(`a section header must look like [Gateway]; got ${JSON.stringify(trimmed)}`);
          return;
        }
        section = name;
        parsed.sections.push({ name, line });
        return;
      }
      const equals = trimmed.indexOf("=");
      if (equals <= 0) {
        const hint = /^[\w.-]+\s*:/.test(trimmed) ? ' (use "=" rather than ":")' : "";
        fail(`expected "Key = value", "[Section]" or a comment; got ${JSON.stringify(trimmed)}${hint}`);
        return;
      }
      const value = readValue(trimmed.slice(equals + 1));
      if ("error" in value) {
        fail(value.error);
        return;
      }
      parsed.entries.push({ section, key: trimmed.slice(0, equals).trim(), value: value.value, line });
    });
  return parsed;
}
