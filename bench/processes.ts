/** Starts the processes a benchmark measures: emulators, the gateway CLI, and nginx when installed. */
import { spawn, type ChildProcess } from "node:child_process";
import { freePort } from "../src/util/free-port.js";
import { existsSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

/** A started process with the URL it serves. */
export interface Started {
  url: string;
  port: number;
  /** The process id (to read its CPU time from /proc). */
  pid?: number | undefined;
  stop(): Promise<void>;
}

const ROOT = process.cwd();

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 3000).unref();
    });
}

function waitForLine(
  child: ChildProcess,
  match: (msg: Record<string, unknown>) => string | undefined,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("process did not start within 30 s")), 30_000);
    child.once("exit", (code) => reject(new Error(`process exited with ${code}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      try {
        const url = match(JSON.parse(line) as Record<string, unknown>);
        if (url) {
          clearTimeout(timer);
          resolve(url);
        }
      } catch {
        // not JSON
      }
    });
  });
}

/** Starts an emulator process with the given flags on a free port (`quiet`: drop its log lines on stderr). */
export async function startEmulatorProcess(
  args: string[],
  options: { quiet?: boolean } = {},
): Promise<Started> {
  const child = spawn(
    process.execPath,
    [join(ROOT, "dist/src/sim/emulate-main.js"), "--port", "0", ...args],
    {
      stdio: ["ignore", "pipe", options.quiet ? "ignore" : "inherit"],
    },
  );
  const url = await waitForLine(child, (m) => (m.msg === "listening" ? String(m.url) : undefined));
  return { url, port: Number(new URL(url).port), pid: child.pid, stop: stopper(child) };
}

/** Extra keys of one gpu_instances entry (the seed's YAML), by the instance's position. */
export interface GatewayInstanceExtras {
  name?: string;
  /** e.g. "8GiB". */
  memoryLimit?: string;
  maxConcurrentRequests?: number;
}

/** Optional settings of a benchmark gateway. */
export interface GatewayProcessOptions {
  /** Per-instance extras, index-aligned with the URLs. */
  instances?: GatewayInstanceExtras[];
  /** Text of an INI file passed with --config (e.g. a [GPU_LoadBalancing] strategy). */
  ini?: string;
}

/** Starts `ollama-fleet serve` in front of the given instance URLs. */
export async function startGatewayProcess(
  urls: string[],
  extraArgs: string[] = [],
  options: GatewayProcessOptions = {},
): Promise<Started> {
  const dir = await mkdtemp(join(tmpdir(), "fleet-bench-"));
  const yaml = join(dir, "instances.yaml");
  const entries = urls.map((u, i) => {
    const port = new URL(u).port;
    const extra = options.instances?.[i] ?? {};
    let entry = `  - gpu_id: ${i}\n    name: ${JSON.stringify(extra.name ?? `bench ${i}`)}\n    port: ${port}\n    url: ${u}\n`;
    if (extra.memoryLimit !== undefined) entry += `    memory_limit: ${extra.memoryLimit}\n`;
    if (extra.maxConcurrentRequests !== undefined)
      entry += `    max_concurrent_requests: ${extra.maxConcurrentRequests}\n`;
    return entry;
  });
  await writeFile(yaml, `gpu_instances:\n${entries.join("")}`);
  const args = ["serve", "--instances", yaml];
  if (options.ini !== undefined) {
    const ini = join(dir, "fleet.ini");
    await writeFile(ini, options.ini);
    args.push("--config", ini);
  }
  // The listening line is logged at info, below the level a benchmark runs at: pick the port here.
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [join(ROOT, "dist/src/cli/main.js"), ...args, "--port", String(port), ...extraArgs],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/healthz`, child);
  return { url, port, pid: child.pid, stop: stopper(child) };
}

async function waitForHttp(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`process exited with ${child.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not answer within 30 s`);
}

/** Starts nginx as a round-robin keep-alive proxy to the upstreams, or undefined when not installed. */
export async function startNginx(upstreams: string[]): Promise<Started | undefined> {
  const bin = ["/usr/sbin/nginx", "/usr/bin/nginx"].find((p) => existsSync(p));
  if (!bin) return undefined;
  const dir = await mkdtemp(join(tmpdir(), "fleet-nginx-"));
  const port = await freePort();
  const servers = upstreams.map((u) => `server ${new URL(u).host};`).join(" ");
  const conf = `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  upstream ollama { ${servers} keepalive 256; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://ollama; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}`;
  await writeFile(join(dir, "nginx.conf"), conf);
  const child = spawn(bin, ["-c", join(dir, "nginx.conf"), "-p", dir], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    try {
      await fetch(`${url}/api/version`);
      return { url, port, stop: stopper(child) };
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  await stopper(child)();
  throw new Error("nginx did not start");
}

/** Re-exported so callers keep one import. */
export { freePort };
