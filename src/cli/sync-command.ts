/** `ollama-fleet sync`: asks the running gateway which models drift and has it pull them back in line. */
import { request } from "undici";
import type { ModelSync } from "../http/admin/model-consistency-routes.js";
import type { ModelDigests } from "../supervisor/model-drift.js";

/** Flags of `sync` as commander parses them. */
export interface SyncFlags {
  /** Gateway base URL; default http://127.0.0.1:11400. */
  gateway?: string;
  /** Admin key; default $OLLAMA_FLEET_ADMIN_KEY. */
  adminKey?: string;
  /** Only this model. */
  model?: string;
  /** Report the drift, pull nothing. */
  dryRun?: boolean;
  /** Print the gateway's JSON instead of lines. */
  json?: boolean;
}

/** What runSync talks to. */
export interface SyncDeps {
  write?: (text: string) => void;
  writeError?: (text: string) => void;
  env?: Record<string, string | undefined>;
}

/** GET or POST on the gateway's admin API; the answer's JSON, or throws with the gateway's message. */
async function call<T>(base: string, path: string, key: string | undefined, body?: unknown): Promise<T> {
  const res = await request(`${base.replace(/\/+$/, "")}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: {
      ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    // Pulls of big models take minutes: no header or body timeout.
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  const text = await res.body.text();
  if (res.statusCode >= 400) {
    let message = text;
    try {
      message = (JSON.parse(text) as { error?: string }).error ?? text;
    } catch {
      // not JSON: show the text
    }
    throw new Error(`${path}: HTTP ${res.statusCode}: ${message}`);
  }
  return JSON.parse(text) as T;
}

/** "llama3.2:3b: gpu0-11500 a1b2c3d4e5f6, gpu1-11501 0f9e8d7c6b5a (majority a1b2c3d4e5f6)". */
function describe(m: ModelDigests): string {
  const where = m.instances.map((i) => `${i.id} ${i.digest.slice(0, 12)}`).join(", ");
  return `${m.model}: ${where} (majority ${m.majorityDigest.slice(0, 12)})`;
}

/** Runs the sync; returns the exit status: 0 consistent, 1 drift left, 2 the gateway could not be asked. */
export async function runSync(flags: SyncFlags, deps: SyncDeps = {}): Promise<number> {
  const write = deps.write ?? ((text: string) => void process.stdout.write(text));
  const writeError = deps.writeError ?? ((text: string) => void process.stderr.write(text));
  const env = deps.env ?? process.env;
  const base = flags.gateway ?? "http://127.0.0.1:11400";
  const key = flags.adminKey ?? (env.OLLAMA_FLEET_ADMIN_KEY || undefined);
  try {
    const report = await call<{ consistent: boolean; models: ModelDigests[] }>(base, "/fleet/models", key);
    const drifting = report.models.filter(
      (m) => !m.consistent && (flags.model === undefined || m.model === flags.model),
    );
    if (flags.dryRun === true || drifting.length === 0) {
      if (flags.json === true) write(`${JSON.stringify(report, null, 2)}\n`);
      else if (drifting.length === 0)
        write(`All ${report.models.length} model(s) have one version on every instance.\n`);
      else for (const m of drifting) write(`drift: ${describe(m)}\n`);
      return drifting.length === 0 ? 0 : 1;
    }
    const body = flags.model === undefined ? {} : { model: flags.model };
    const result = await call<{ consistent: boolean; synced: ModelSync[] }>(
      base,
      "/fleet/models/sync",
      key,
      body,
    );
    if (flags.json === true) write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      for (const s of result.synced) {
        write(
          `${s.model}: ${s.consistent ? "now consistent" : "still drifting"}\n  before: ${describe(s.before)}\n`,
        );
        for (const r of s.rounds) {
          const pulls = r.pulls.map((p) => `${p.instance} ${p.ok ? "ok" : `failed (${p.error ?? ""})`}`);
          write(`  round ${r.round}: pulled on ${pulls.join(", ")}\n`);
        }
        if (s.after !== undefined) write(`  after: ${describe(s.after)}\n`);
      }
    }
    return result.consistent ? 0 : 1;
  } catch (err) {
    writeError(`ollama-fleet sync: ${(err as Error).message}\n`);
    return 2;
  }
}
