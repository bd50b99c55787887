// Reads setting values from the INI file, the environment and the CLI flags, then layers them.
import { parseIni } from "./ini-parser.js";
import type { ConfigProblem, ConfigWarning } from "./problems.js";
import {
  emptySectionValues,
  ENV_PREFIX,
  FILE_ENV,
  INI_SECTIONS,
  type SettingKey,
  type SettingsSection,
} from "./schema.js";
import { closestMatch, didYouMean } from "./suggest.js";

/** One value for one setting from one place, not yet validated. */
export interface RawSetting {
  key: SettingKey;
  value: unknown;
  /** A file path, "environment" or "command line". */
  file: string;
  /** How the user wrote the key there: `[Gateway] ListenPort`, `OLLAMA_FLEET_LISTEN_PORT`, `--listen-port`. */
  label: string;
  /** A valid way to write it there. */
  example: string;
  line?: number;
}

/** What one place yields: values to layer, and what was wrong or odd about it. */
export interface SourceResult {
  settings: RawSetting[];
  problems: ConfigProblem[];
  warnings: ConfigWarning[];
}

/** The canonical `[Section] Key` of a setting. */
function iniLabel(key: SettingKey): string {
  return `[${INI_SECTIONS[key.section]}] ${key.iniKey}`;
}

/** The settings group an INI section name stands for; section names are matched ignoring case. */
function sectionNamed(name: string): SettingsSection | undefined {
  const sections = Object.keys(INI_SECTIONS) as SettingsSection[];
  return sections.find((section) => INI_SECTIONS[section].toLowerCase() === name.toLowerCase());
}

/**
 * Reads [GPU_LoadBalancing] and [Gateway] from INI text. Keys match ignoring case (the seed comes from
 * .NET, whose INI reader does the same); keys above any section header are found in either section.
 */
export function settingsFromIni(text: string, file: string, keys: readonly SettingKey[]): SourceResult {
  const parsed = parseIni(text);
  const result: SourceResult = { settings: [], problems: [], warnings: [] };
  for (const error of parsed.errors) {
    const example = "MaxBatchSize = 4";
    result.problems.push({ file, key: "", value: "", message: error.message, example, line: error.line });
  }
  const sectionLabels = Object.values(INI_SECTIONS).map((name) => `[${name}]`);
  for (const section of parsed.sections) {
    if (sectionNamed(section.name) !== undefined) continue;
    const label = `[${section.name}]`;
    const message = `unknown section, its keys are ignored${didYouMean(label, sectionLabels)}`;
    result.warnings.push({ file, key: label, message, line: section.line });
  }
  const seen = new Map<string, RawSetting>();
  for (const entry of parsed.entries) {
    const section = entry.section === undefined ? undefined : sectionNamed(entry.section);
    if (entry.section !== undefined && section === undefined) continue; // warned once per section above
    const sameName = keys.filter((k) => k.iniKey.toLowerCase() === entry.key.toLowerCase());
    const key = sameName.find((k) => section === undefined || k.section === section);
    const written = entry.section === undefined ? entry.key : `[${entry.section}] ${entry.key}`;
    if (key === undefined) {
      const elsewhere = sameName[0];
      const candidates = keys
        .filter((k) => section === undefined || k.section === section)
        .map((k) => k.iniKey);
      const message = elsewhere
        ? `belongs in [${INI_SECTIONS[elsewhere.section]}], so it is ignored here`
        : `unknown key, ignored${didYouMean(entry.key, candidates)}`;
      result.warnings.push({ file, key: written, message, line: entry.line });
      continue;
    }
    const setting: RawSetting = {
      key,
      value: entry.value,
      file,
      label: iniLabel(key),
      example: `${key.iniKey} = ${key.example}`,
      line: entry.line,
    };
    const earlier = seen.get(key.field);
    if (earlier !== undefined) {
      const message = `also set on line ${earlier.line}; this later value wins`;
      result.warnings.push({ file, key: iniLabel(key), message, line: entry.line });
    }
    seen.set(key.field, setting);
    result.settings.push(setting);
  }
  return result;
}

/** Reads OLLAMA_FLEET_* variables; empty ones count as unset, unknown ones are warned about. */
export function settingsFromEnv(
  env: Record<string, string | undefined>,
  keys: readonly SettingKey[],
): SourceResult {
  const result: SourceResult = { settings: [], problems: [], warnings: [] };
  const fileVariables: readonly string[] = Object.values(FILE_ENV);
  const known = [...keys.map((k) => k.envName), ...fileVariables].map((name) =>
    name.slice(ENV_PREFIX.length),
  );
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || fileVariables.includes(name)) continue;
    const key = keys.find((k) => k.envName === name);
    if (key === undefined) {
      // Compare without the shared prefix, or every long name would look close to every other.
      const near = closestMatch(name.slice(ENV_PREFIX.length), known);
      const hint = near === undefined ? "" : ` (did you mean ${ENV_PREFIX}${near}?)`;
      result.warnings.push({ file: "environment", key: name, message: `unknown variable, ignored${hint}` });
      continue;
    }
    if (value === undefined || value === "") continue;
    const example = `${name}=${key.example}`;
    result.settings.push({ key, value, file: "environment", label: name, example });
  }
  return result;
}

/** Takes the flags that name a setting (by its camelCase field); the CLI's other options are not ours. */
export function settingsFromFlags(flags: Record<string, unknown>, keys: readonly SettingKey[]): SourceResult {
  const result: SourceResult = { settings: [], problems: [], warnings: [] };
  for (const [field, value] of Object.entries(flags)) {
    const key = keys.find((k) => k.field === field);
    if (key === undefined || value === undefined) continue;
    const example = `${key.flag} ${key.example}`;
    result.settings.push({ key, value, file: "command line", label: key.flag, example });
  }
  return result;
}

/** Raw values per settings group, the place each winning value came from, and invalid values. */
export interface LayeredSettings {
  values: Record<SettingsSection, Record<string, unknown>>;
  origins: Map<string, RawSetting>;
  problems: ConfigProblem[];
}

/** A bad value as text for a problem report. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "";
  return typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
}

/** Validates every value in every layer (so all problems surface) and lets later layers win. */
export function layerSettings(layers: readonly (readonly RawSetting[])[]): LayeredSettings {
  const layered: LayeredSettings = {
    values: emptySectionValues(),
    origins: new Map(),
    problems: [],
  };
  for (const setting of layers.flat()) {
    const checked = setting.key.schema.safeParse(setting.value);
    if (!checked.success) {
      layered.problems.push({
        file: setting.file,
        key: setting.label,
        value: describeValue(setting.value),
        message: checked.error.issues[0]?.message ?? "invalid value",
        example: setting.example,
        ...(setting.line === undefined ? {} : { line: setting.line }),
      });
      continue;
    }
    layered.values[setting.key.section][setting.key.field] = setting.value;
    layered.origins.set(setting.key.field, setting);
  }
  return layered;
}
