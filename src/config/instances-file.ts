// Reads the YAML gpu_instances file: syntax, unknown keys, per-entry values and clashes between entries.
import { LineCounter, parseDocument, type Document } from "yaml";
import {
  findDuplicateInstances,
  INSTANCE_EXAMPLES,
  INSTANCE_KEYS,
  instanceSchema,
  type InstanceKey,
} from "./instance-schema.js";
import type { ConfigProblem, ConfigWarning } from "./problems.js";
import type { InstanceConfig } from "./schema.js";
import { describeValue } from "./settings-sources.js";
import { didYouMean } from "./suggest.js";

/** Raw entries to hand to the schema, plus what was wrong or odd. */
export interface InstancesResult {
  instances: unknown[];
  problems: ConfigProblem[];
  warnings: ConfigWarning[];
}

/** A path inside the YAML document. */
type YamlPath = (string | number)[];

/** Example of a whole entry, for problems that are not about one key. */
const ENTRY_EXAMPLE = '- {gpu_id: 0, name: "RTX 3060 Ti", port: 11434}';

/** Plain objects only: YAML mappings, not lists or scalars. */
function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `gpu_instances[1].models[0]` from the entry index and a path inside the entry. */
function entryLabel(index: number, path: readonly PropertyKey[]): string {
  const inner = path.map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`)).join("");
  return `gpu_instances[${index}]${inner}`;
}

/** The line of the deepest node that exists along `path`, so missing keys point at their entry. */
function lineOf(doc: Document, lines: LineCounter, path: YamlPath): number | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const node: unknown = doc.getIn(path.slice(0, depth), true);
    const range = isMapping(node) ? node["range"] : undefined;
    if (Array.isArray(range) && typeof range[0] === "number") return lines.linePos(range[0]).line;
  }
  return undefined;
}

/** The value at `path` inside one entry, for showing what was written. */
function valueAt(entry: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>(
    (value, part) => (isMapping(value) || Array.isArray(value) ? Reflect.get(value, part) : undefined),
    entry,
  );
}

/** Checks the entries one by one (every problem, not the first) and then across entries. */
function checkEntries(
  list: unknown[],
  file: string,
  at: (path: YamlPath) => number | undefined,
  base: YamlPath,
  result: InstancesResult,
): void {
  const valid: { index: number; instance: InstanceConfig }[] = [];
  list.forEach((entry, index) => {
    if (isMapping(entry)) {
      for (const key of Object.keys(entry).filter((k) => !(INSTANCE_KEYS as readonly string[]).includes(k))) {
        const message = `unknown key, ignored${didYouMean(key, INSTANCE_KEYS)}`;
        result.warnings.push({
          file,
          key: entryLabel(index, [key]),
          message,
          line: at([...base, index, key]),
        });
      }
      const limit = entry["memory_limit"];
      if (typeof limit === "number" && limit < 1e6) {
        const message = `${limit} is read as ${limit} bytes; write ${limit}GB for gigabytes`;
        result.warnings.push({
          file,
          key: entryLabel(index, ["memory_limit"]),
          message,
          line: at([...base, index, "memory_limit"]),
        });
      }
    }
    const checked = instanceSchema.safeParse(entry);
    if (checked.success) {
      valid.push({ index, instance: checked.data });
      return;
    }
    for (const issue of checked.error.issues) {
      const top = issue.path[0];
      result.problems.push({
        file,
        key: entryLabel(index, issue.path),
        value: describeValue(valueAt(entry, issue.path)),
        message: issue.message,
        example:
          typeof top === "string" && top in INSTANCE_EXAMPLES
            ? INSTANCE_EXAMPLES[top as InstanceKey]
            : ENTRY_EXAMPLE,
        line: at([...base, index, ...issue.path.map((p) => (typeof p === "number" ? p : String(p)))]),
      });
    }
  });
  const instances = valid.map((v) => v.instance);
  for (const clash of findDuplicateInstances(
    instances,
    valid.map((v) => v.index),
  )) {
    const instance = valid.find((v) => v.index === clash.index)?.instance;
    result.problems.push({
      file,
      key: entryLabel(clash.index, [clash.key]),
      value: describeValue(instance?.[clash.key]),
      message: clash.message,
      example: INSTANCE_EXAMPLES[clash.key],
      line: at([...base, clash.index, clash.key]),
    });
  }
}

/** Where the list is: under `gpu_instances:`, or the whole document when the file is a bare list. */
type ListLocation = { list: unknown; base: YamlPath } | { problem: string };

/** Finds the instance list in the parsed document, warning about other top-level keys. */
function locateList(
  data: unknown,
  file: string,
  at: (path: YamlPath) => number | undefined,
  result: InstancesResult,
): ListLocation {
  if (Array.isArray(data)) return { list: data, base: [] };
  if (data === null || data === undefined)
    return { problem: "the file is empty; expected a gpu_instances: list" };
  if (!isMapping(data)) return { problem: "expected a gpu_instances: list" };
  for (const key of Object.keys(data).filter((k) => k !== "gpu_instances")) {
    const message = `unknown top-level key, ignored${didYouMean(key, ["gpu_instances"])}`;
    result.warnings.push({ file, key, message, line: at([key]) });
  }
  if (!("gpu_instances" in data)) return { problem: "no gpu_instances: list in this file" };
  // `gpu_instances:` with nothing under it is an empty list, not an error.
  return { list: data["gpu_instances"] ?? [], base: ["gpu_instances"] };
}

/**
 * Reads YAML with a top-level `gpu_instances:` list, as in the seed. A file that is just the list
 * (no `gpu_instances:` key) is accepted too.
 */
export function instancesFromYaml(text: string, file: string): InstancesResult {
  const result: InstancesResult = { instances: [], problems: [], warnings: [] };
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (path: YamlPath) => lineOf(doc, lines, path);
  const example = `gpu_instances: [${ENTRY_EXAMPLE.slice(2)}]`;
  for (const error of doc.errors) {
    const line = lines.linePos(error.pos[0]).line;
    result.problems.push({
      file,
      key: "",
      value: "",
      message: `YAML syntax: ${error.message}`,
      example,
      line,
    });
  }
  for (const warning of doc.warnings) {
    result.warnings.push({
      file,
      key: "",
      message: warning.message,
      line: lines.linePos(warning.pos[0]).line,
    });
  }
  if (doc.errors.length > 0) return result;
  const located = locateList(doc.toJS(), file, at, result);
  if ("problem" in located) {
    result.problems.push({ file, key: "", value: "", message: located.problem, example, line: 1 });
    return result;
  }
  const { list, base } = located;
  if (!Array.isArray(list)) {
    const message = "expected a list of instances, each starting with -";
    const line = at(base);
    result.problems.push({
      file,
      key: "gpu_instances",
      value: describeValue(list),
      message,
      example: ENTRY_EXAMPLE,
      line,
    });
    return result;
  }
  if (list.length === 0)
    result.warnings.push({ file, key: "gpu_instances", message: "the list is empty", line: at(base) });
  checkEntries(list, file, at, base, result);
  result.instances = list;
  return result;
}
