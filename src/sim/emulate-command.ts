/**
 * `ollama-fleet emulate`: runs one Ollama emulator in the foreground until SIGINT/SIGTERM. Prints
 * one JSON line to stdout once listening; every other line goes to stderr.
 */
import { Command, InvalidArgumentError } from "commander";
import { DEFAULT_MODELS } from "./catalog.js";
import { startEmulator } from "./emulator.js";
import { optionsFrom, type EmulateFlags } from "./env-config.js";
import type { EmulatorOptions } from "./types.js";

function integer(min: number): (v: string) => number {
  return (v) => {
    if (!/^-?\d+$/.test(v.trim()) || Number(v) < min)
      throw new InvalidArgumentError(`expected an integer ≥ ${min}`);
    return Number(v);
  };
}

function positive(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("expected a positive number");
  return n;
}

/** The emulate command's parser (its own Command, so `--help` describes only it). */
export function emulateProgram(): Command {
  return (
    new Command("emulate")
      .description(
        "Run an Ollama emulator: Ollama's HTTP API on a modelled GPU (for tests, demos and benchmarks)",
      )
      // `ollama serve` is how Ollama is started; the emulator takes the same command so it can stand in.
      .argument("[serve]", 'ignored: lets `emulate serve` stand in for "ollama serve"')
      .option("--host <host>", "address to listen on (default: from OLLAMA_HOST, else 127.0.0.1)")
      .option(
        "--port <port>",
        "port to listen on, 0 picks a free one (default: from OLLAMA_HOST, else 11434)",
        integer(0),
      )
      .option(
        "--gpu <spec>",
        'the GPU, "NAME:VRAM_GB[:BANDWIDTH_GBPS]" (default: OLLAMA_FLEET_EMULATE_GPU, else "Emulated GPU:24:448")',
      )
      .option("--cpu", "CPU-only inference, as with CUDA_VISIBLE_DEVICES=-1")
      .option(
        "--models <list>",
        `models on disk, "name[:tag][:sizeGB[:paramsB]],..." (catalog names need no size; default ${DEFAULT_MODELS})`,
      )
      .option("--parallel <n>", "slots per loaded model (OLLAMA_NUM_PARALLEL, default 1)", integer(1))
      .option(
        "--max-loaded <n>",
        "most models loaded at once (OLLAMA_MAX_LOADED_MODELS, default 3)",
        integer(0),
      )
      .option(
        "--max-queue <n>",
        "most requests waiting for the scheduler (OLLAMA_MAX_QUEUE, default 512)",
        integer(1),
      )
      .option(
        "--keep-alive <duration>",
        'idle time before a model unloads, in model time (OLLAMA_KEEP_ALIVE, default "5m")',
      )
      .option(
        "--num-ctx <n>",
        "default num_ctx (OLLAMA_CONTEXT_LENGTH; default by VRAM as Ollama)",
        integer(4),
      )
      .option("--time-scale <n>", "divide every modelled duration by N (default 1)", positive)
      .option("--seed <n>", "generation seed for requests that set none (default 0)", integer(-(2 ** 31)))
      .option("--id <label>", "label shown in stats and logs")
      .option("--output-tokens <range>", 'natural answer length in tokens, "MIN-MAX" (default 16-160)')
      .option("--download-mbps <n>", "modelled /api/pull speed in MB/s (default 100)", positive)
      .option("--eviction <policy>", '"ollama" (shortest keep-alive, then name) or "lru"')
      .option("--ollama-version <v>", "version /api/version reports")
      .addHelpText(
        "after",
        "\nEnvironment (as `ollama serve` reads it; flags win): OLLAMA_HOST, OLLAMA_NUM_PARALLEL,\n" +
          "OLLAMA_MAX_LOADED_MODELS, OLLAMA_MAX_QUEUE, OLLAMA_KEEP_ALIVE, OLLAMA_CONTEXT_LENGTH,\n" +
          'CUDA_VISIBLE_DEVICES ("" or "-1": CPU only). OLLAMA_FLEET_EXIT_ON_STDIN_CLOSE=1 exits when stdin closes.\n' +
          "OLLAMA_FLEET_EMULATE_GPU: the GPU as --gpu takes it (how a supervisor that runs `<bin> serve` says\n" +
          "which GPU this stand-in plays; a real Ollama finds its GPU through CUDA_VISIBLE_DEVICES instead).\n" +
          "Control endpoints: POST/DELETE /__sim/fault, GET /__sim/stats, POST /__sim/reset-stats.",
      )
  );
}

function logLine(level: string, msg: string): void {
  process.stderr.write(
    `time=${new Date().toISOString()} level=${level} source=emulator msg=${JSON.stringify(msg)}\n`,
  );
}

/** Parses `argv` (the arguments after "emulate"), runs the emulator, and returns after a clean stop. */
export async function runEmulateCommand(argv: string[]): Promise<void> {
  const program: Command = emulateProgram();
  program.parse(argv, { from: "user" });
  const [command] = program.args;
  if (command !== undefined && command !== "serve") {
    program.error(`error: the emulator plays "ollama serve" only, not "${command}"`, { exitCode: 2 });
  }
  let options: EmulatorOptions;
  try {
    options = optionsFrom(program.opts<EmulateFlags>(), process.env);
  } catch (err) {
    program.error(`error: ${(err as Error).message}`, { exitCode: 2 });
  }
  const handle = await startEmulator({ ...options, crashMode: "exit", log: (l) => logLine("INFO", l) });
  process.stdout.write(`${JSON.stringify({ msg: "listening", url: handle.url, port: handle.port })}\n`);
  const gpu = options.gpu!;
  logLine(
    "INFO",
    `Listening on ${handle.url} (emulated Ollama; ${gpu.name}, ${(gpu.memoryBytes / 1024 ** 3).toFixed(1)} GiB, ` +
      `${options.models?.map((m) => m.name).join(", ")}, time scale ${options.timeScale})`,
  );
  await new Promise<void>((done) => {
    const stop = (why: string): void => {
      logLine("INFO", `stopping (${why})`);
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      process.stdin.off("end", onEnd);
      process.stdin.pause();
      void handle.close().then(done);
    };
    const onInt = (): void => stop("SIGINT");
    const onTerm = (): void => stop("SIGTERM");
    const onEnd = (): void => stop("stdin closed");
    process.once("SIGINT", onInt);
    process.once("SIGTERM", onTerm);
    if (process.env.OLLAMA_FLEET_EXIT_ON_STDIN_CLOSE === "1") {
      process.stdin.once("end", onEnd);
      process.stdin.resume();
    }
  });
  process.exitCode = 0;
  // Nothing should be left running; if something is, still leave with 0 as a stopped server does.
  setTimeout(() => process.exit(0), 500).unref();
}
