/** Faults injected through /__sim/fault: which are armed, and what each request gets of them. */
import { FAULT_KINDS, type FaultKind, type FaultSpec } from "./types.js";

interface Armed {
  spec: FaultSpec;
  left: number;
}

/** What one inference request does wrong, decided when it starts. */
export interface FaultPlan {
  /** Answer 503 busy at once. */
  busy: boolean;
  /** Answer 500 at once. */
  error500: boolean;
  /** After this many tokens: destroy the socket. */
  resetAfter?: number;
  /** After this many tokens: write one broken JSON line (or a truncated body). */
  malformedAfter?: number;
  /** After this many tokens: an error line ends the stream (500 when nothing was sent). */
  errorAfter?: number;
  /** After this many tokens: stop writing and never finish. */
  hangAfter?: number;
  /** After this many tokens: crash the emulator. */
  crashAfter?: number;
}

/** The message of a 500 from a runner that died, as Ollama words it. */
export const RUNNER_STOPPED =
  "model runner has unexpectedly stopped, this may be due to resource limitations or an internal error, check ollama server logs for details";

/** Parses and validates a fault body; returns an error message for a bad one. */
export function parseFault(value: unknown): FaultSpec | string {
  if (typeof value !== "object" || value === null) return "fault must be a JSON object";
  const v = value as Record<string, unknown>;
  if (typeof v.kind !== "string" || !(FAULT_KINDS as readonly string[]).includes(v.kind)) {
    return `kind must be one of ${FAULT_KINDS.join(", ")}`;
  }
  const spec: FaultSpec = { kind: v.kind as FaultKind };
  for (const key of ["factor", "afterTokens", "count"] as const) {
    const n = v[key];
    if (n === undefined || n === null) continue;
    if (typeof n !== "number" || !Number.isFinite(n) || n < 0) return `${key} must be a non-negative number`;
    spec[key] = n;
  }
  if (spec.kind === "slow" && spec.factor !== undefined && spec.factor <= 0) return "factor must be positive";
  return spec;
}

/** The armed faults of one emulator. */
export class FaultState {
  private armed: Armed[] = [];

  /** Arms a fault, replacing one of the same kind. */
  set(spec: FaultSpec): void {
    this.armed = this.armed.filter((a) => a.spec.kind !== spec.kind);
    this.armed.push({ spec, left: spec.count ?? Infinity });
  }

  clear(): void {
    this.armed = [];
  }

  list(): FaultSpec[] {
    return this.armed.map((a) => ({ ...a.spec }));
  }

  /** The armed fault of a kind, without using it up. */
  peek(kind: FaultKind): FaultSpec | undefined {
    return this.armed.find((a) => a.spec.kind === kind)?.spec;
  }

  /** Uses one of a fault's `count` (if armed); returns its spec. */
  take(kind: FaultKind): FaultSpec | undefined {
    const a = this.armed.find((x) => x.spec.kind === kind);
    if (!a) return undefined;
    if (--a.left <= 0) this.armed = this.armed.filter((x) => x !== a);
    return a.spec;
  }

  /** Decides what a starting inference request suffers. */
  planFor(): FaultPlan {
    const plan: FaultPlan = { busy: false, error500: false };
    // A hang without afterTokens holds every request at the door (see the router); this is mid-answer.
    const hang = this.peek("hang");
    if (hang?.afterTokens !== undefined) {
      this.take("hang");
      plan.hangAfter = hang.afterTokens;
    }
    if (this.peek("busy503")) {
      this.take("busy503");
      return { ...plan, busy: true };
    }
    const err = this.peek("error500");
    if (err) {
      this.take("error500");
      if (err.afterTokens === undefined) return { ...plan, error500: true };
      plan.errorAfter = err.afterTokens;
    }
    const reset = this.take("reset");
    if (reset) plan.resetAfter = reset.afterTokens ?? 0;
    const malformed = this.take("malformed");
    if (malformed) plan.malformedAfter = malformed.afterTokens ?? 1;
    const crash = this.peek("crash");
    if (crash?.afterTokens !== undefined) {
      this.take("crash");
      plan.crashAfter = crash.afterTokens;
    }
    return plan;
  }
}
