/** Model-name handling shared by routing and the HTTP edge. */

/**
 * Canonical form of an Ollama model name: lower-case, with the implicit `:latest` tag made explicit,
 * so `Llama3` and `llama3:latest` meet in one inventory slot (Ollama treats them as one model).
 */
export function normalizeModelName(name: string): string {
  const trimmed = name.trim().toLowerCase();
  if (trimmed === "") return "";
  const lastSlash = trimmed.lastIndexOf("/");
  const tagSep = trimmed.indexOf(":", lastSlash + 1);
  return tagSep === -1 ? `${trimmed}:latest` : trimmed;
}
