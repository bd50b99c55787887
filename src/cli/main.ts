#!/usr/bin/env node
/** The `ollama-fleet` command line: serve the gateway, or run the Ollama emulator. */
import { Command } from "commander";
import { GATEWAY_VERSION } from "../main.js";
import type { PlanFlags } from "./plan-command.js";
import { runServe, type ServeFlags } from "./serve-command.js";
import type { SyncFlags } from "./sync-command.js";

const program = new Command();
program
  .name("ollama-fleet")
  .description("One fast, self-healing Ollama endpoint in front of every GPU of a machine")
  .version(GATEWAY_VERSION);

program
  .command("serve")
  .description("run the gateway (with no config: a local Ollama, else the emulated seed fleet)")
  .option("-c, --config <file.ini>", "INI file with [GPU_LoadBalancing] and [Gateway] sections")
  .option("-i, --instances <file.yaml>", "YAML file with the gpu_instances list")
  .option("--host <host>", "listen host (default 127.0.0.1)")
  .option("-p, --port <port>", "listen port (default 11400)")
  .option("--admin-key <key>", "bearer key for model-management and admin endpoints")
  .option("--log-level <level>", "trace, debug, info, warn, error, fatal or silent")
  .option("--log-format <format>", "json (default) or pretty")
  .option("--emulate", "serve the emulated seed fleet even if a local Ollama answers")
  .option("--provision", "plan and launch one ollama serve per instance, even without GPUs or from the YAML")
  .option("--ollama-bin <path>", "the Ollama binary to launch (default: ollama on PATH, else the emulator)")
  .action(async (flags: ServeFlags) => runServe(flags));

program
  .command("detect")
  .description("detect GPUs (NVML, nvidia-smi, amd-smi/rocm-smi; CPU-only when none) and their capabilities")
  .option("--json", "stable JSON output (schema in docs/gpu-detection.md)")
  .option("--nvml-library <path>", "path of libnvidia-ml.so.1 to load instead of the system's")
  .action(async (flags: { json?: boolean; nvmlLibrary?: string }) => {
    const { runDetect } = await import("./detect-command.js");
    await runDetect(flags);
  });

program
  .command("plan")
  .description("plan the Ollama instances per GPU and the models on each, with the reason for every choice")
  .option("--json", "stable JSON output (schema in docs/provisioning.md)")
  .option("-c, --config <file.ini>", "INI file; its [Provisioning] section drives the plan")
  .option("-i, --instances <file.yaml>", "YAML gpu_instances file: the plan then reflects it")
  .option("--nvml-library <path>", "path of libnvidia-ml.so.1 to load instead of the system's")
  .option("--no-probe", "do not ask instances already running for their model sizes")
  .action(async (flags: PlanFlags) => {
    const { runPlan } = await import("./plan-command.js");
    process.exitCode = await runPlan(flags);
  });

program
  .command("sync")
  .description("pull models whose version (digest) differs between instances until every copy is the same")
  .option("--gateway <url>", "the running gateway (default http://127.0.0.1:11400)")
  .option("--admin-key <key>", "admin key (default: $OLLAMA_FLEET_ADMIN_KEY)")
  .option("--model <name>", "only this model")
  .option("--dry-run", "report the drift, pull nothing")
  .option("--json", "print the gateway's JSON answer")
  .action(async (flags: SyncFlags) => {
    const { runSync } = await import("./sync-command.js");
    process.exitCode = await runSync(flags);
  });

program
  .command("status")
  .description("print the fleet of a running gateway: GPUs, instances, state, score, loaded models, queue")
  .option("--gateway <url>", "the running gateway (default $OLLAMA_FLEET_GATEWAY or http://127.0.0.1:11400)")
  .option("--admin-key <key>", "admin key (default: $OLLAMA_FLEET_ADMIN_KEY)")
  .option("-w, --watch [seconds]", "redraw every N seconds (default 2) until Ctrl-C")
  .option("--json", "print the report as JSON (shape in docs/observability.md)")
  .action(
    async (flags: { gateway?: string; adminKey?: string; watch?: boolean | string; json?: boolean }) => {
      const { runStatus } = await import("./status-command.js");
      process.exitCode = await runStatus(flags);
    },
  );

program
  .command("emulate")
  .description("run an Ollama emulator with a GPU timing model (for tests, demos and benchmarks)")
  .helpOption(false)
  .allowUnknownOption(true)
  .allowExcessArguments(true)
  .action(async () => {
    // The emulator is a test/demo tool: loaded only when asked for, never on the gateway's path.
    const { runEmulateCommand } = await import("../sim/emulate-command.js");
    await runEmulateCommand(process.argv.slice(process.argv.indexOf("emulate") + 1));
  });

await program.parseAsync(process.argv);
