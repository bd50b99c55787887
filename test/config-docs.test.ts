// docs/configuration.md keeps up with the schema: every key, variable and YAML key is documented.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { INSTANCE_KEYS } from "../src/config/instance-schema.js";
import { defaultConfig, FILE_ENV, settingKeys } from "../src/config/schema.js";
import { REPO_ROOT } from "./fixtures/config/temp-files.js";

test("docs/configuration.md has a row for every INI key with its variable and default", async () => {
  const docs = await readFile(join(REPO_ROOT, "docs", "configuration.md"), "utf8");
  const defaults = defaultConfig();
  for (const key of settingKeys()) {
    const row = docs.split("\n").find((line) => line.startsWith(`| \`${key.iniKey}\``));
    assert.ok(row, `no row for ${key.iniKey}`);
    assert.ok(row.includes(`\`${key.envName}\``), `${key.iniKey}'s row lacks ${key.envName}`);
    const value = Reflect.get(defaults[key.section], key.field);
    const shown = value === undefined ? "not set" : `\`${String(value)}\``;
    assert.ok(row.includes(shown), `${key.iniKey}'s row lacks its default ${shown}`);
  }
});

test("docs/configuration.md documents the file variables and every YAML key", async () => {
  const docs = await readFile(join(REPO_ROOT, "docs", "configuration.md"), "utf8");
  for (const name of Object.values(FILE_ENV)) assert.ok(docs.includes(`| \`${name}\``), name);
  for (const key of INSTANCE_KEYS) assert.ok(docs.includes(`| \`${key}\``), key);
});
