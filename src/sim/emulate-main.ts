#!/usr/bin/env node
/** Standalone entry of the Ollama emulator: `node dist/src/sim/emulate-main.js [flags]`. */
import { runEmulateCommand } from "./emulate-command.js";

await runEmulateCommand(process.argv.slice(2));
