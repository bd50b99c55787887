// How configuration mistakes are reported: every problem at once, each with where, what and a fix.

/** One invalid or missing value, with where it came from and a valid example to copy. */
export interface ConfigProblem {
  /** A file path, or "environment" / "command line" / "defaults". */
  file: string;
  /** `[Section] Key` for INI, `gpu_instances[1].memory_limit` for YAML, the variable or flag name otherwise. */
  key: string;
  /** The offending value as written ("" when it was missing or the whole file is at fault). */
  value: string;
  /** What was expected. */
  message: string;
  /** A valid line to copy, e.g. `MaxBatchSize = 4`. */
  example: string;
  /** 1-based line in `file`, when known. */
  line?: number;
}

/** Something suspicious that does not stop the gateway (unknown keys, odd values). */
export interface ConfigWarning {
  /** A file path, or "environment" / "command line" / "defaults". */
  file: string;
  /** The key, section or variable the warning is about. */
  key: string;
  /** What is wrong and what was probably meant. */
  message: string;
  /** 1-based line in `file`, when known. */
  line?: number;
}

/** Thrown by loadConfig when any value is invalid; `problems` holds all of them, not just the first. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  /** Every problem found across files, environment and flags. */
  readonly problems: ConfigProblem[];
  /** Warnings found on the way; an ignored misspelt key often explains a problem. */
  readonly warnings: ConfigWarning[];

  constructor(problems: ConfigProblem[], warnings: ConfigWarning[] = []) {
    const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
    const also = warnings.length === 0 ? "" : `\nWarnings:\n${formatConfigWarnings(warnings)}`;
    super(`Invalid configuration (${count}):\n${formatConfigProblems(problems)}${also}`);
    this.problems = problems;
    this.warnings = warnings;
  }
}

/** Secrets never end up in logs or terminals, even when they are what is wrong. */
const SECRET_KEY = /admin[-_ ]?key/i;

/** Long values (a pasted file, a huge string) are cut so one problem stays on one line. */
function showValue(key: string, value: string): string {
  if (SECRET_KEY.test(key)) return '"***"';
  const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
  return JSON.stringify(shown);
}

/** `file:line: ` — the prefix editors and terminals recognise as a jump target. */
function where(file: string, line: number | undefined): string {
  return line === undefined ? `${file}: ` : `${file}:${line}: `;
}

/** One line per problem: `config.ini:7: [GPU_LoadBalancing] MaxBatchSize = "abc": expected ... (example: MaxBatchSize = 4)`. */
export function formatConfigProblems(problems: readonly ConfigProblem[]): string {
  return problems
    .map((p) => {
      const subject =
        p.key === "" ? "" : p.value === "" ? `${p.key}: ` : `${p.key} = ${showValue(p.key, p.value)}: `;
      const example = p.example === "" ? "" : ` (example: ${p.example})`;
      return `${where(p.file, p.line)}${subject}${p.message}${example}`;
    })
    .join("\n");
}

/** One line per warning: `config.ini:3: [Gateway] ListenPrt: unknown key, ignored (did you mean ListenPort?)`. */
export function formatConfigWarnings(warnings: readonly ConfigWarning[]): string {
  return warnings
    .map((w) => `${where(w.file, w.line)}${w.key === "" ? "" : `${w.key}: `}${w.message}`)
    .join("\n");
}
