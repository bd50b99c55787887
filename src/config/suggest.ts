// "Did you mean ...?" for misspelt keys, sections and environment variables.

/** Levenshtein distance between two strings (insertions, deletions, substitutions). */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** Case, "_", "-" and spaces do not matter when people misremember a key's spelling. */
function squash(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]/g, "");
}

/** The candidate closest to `input`, or undefined when none is close enough to be a likely typo. */
export function closestMatch(input: string, candidates: readonly string[]): string | undefined {
  const wanted = squash(input);
  let best: string | undefined;
  let bestScore = Infinity;
  for (const candidate of candidates) {
    const known = squash(candidate);
    // A dropped or extra word ("MAX_BATCH" for "MAX_BATCH_SIZE") is as likely as a typo.
    const nested = wanted.length >= 4 && (known.includes(wanted) || wanted.includes(known));
    const distance = editDistance(wanted, known);
    // A third of the longer name tolerates a couple of typos in short names and a word in long ones.
    const close = nested || distance <= Math.max(2, Math.floor(Math.max(wanted.length, known.length) / 3));
    if (close && distance < bestScore) [best, bestScore] = [candidate, distance];
  }
  return best;
}

/** " (did you mean X?)" when a candidate is close to `input`, otherwise "". */
export function didYouMean(input: string, candidates: readonly string[]): string {
  const match = closestMatch(input, candidates);
  return match === undefined ? "" : ` (did you mean ${match}?)`;
}
