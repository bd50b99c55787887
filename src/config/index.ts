// The configuration module's public surface: import from here rather than from the files behind it.
/** Types, schema, constants, defaultConfig and parseByteSize. */
export * from "./schema.js";
/** loadConfig and its input, result, error and report helpers. */
export * from "./load-config.js";
