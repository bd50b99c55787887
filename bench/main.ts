/** `npm run bench -- <name>`: runs one benchmark and writes its results under bench/results/. */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { benchEmbedBurst, embedBurstMarkdown } from "./embed-burst.js";
import { benchOverhead, overheadMarkdown } from "./overhead.js";
import { benchRouting, routingMarkdown, routingOptionsFromEnv } from "./routing.js";
import { benchSuite, suiteOptionsFromArgs } from "./suite.js";
import { writeSuiteReport } from "./suite-report.js";

/** json undefined: the benchmark wrote its own files. */
const BENCHES: Record<string, () => Promise<{ json: unknown; markdown: string }>> = {
  async overhead() {
    const requests = Number(process.env.BENCH_REQUESTS ?? 4000);
    const rows = await benchOverhead({ requests, concurrencies: [1, 16, 64] });
    return { json: rows, markdown: overheadMarkdown(rows) };
  },
  async routing() {
    const report = await benchRouting(
      routingOptionsFromEnv(process.env, (l) => process.stderr.write(`${l}\n`)),
    );
    return { json: report, markdown: routingMarkdown(report) };
  },
  async "embed-burst"() {
    const rows = await benchEmbedBurst({
      concurrencies: (process.env.BENCH_CONCURRENCIES ?? "1,16,64,256").split(",").map(Number),
      requestsPerCell: Number(process.env.BENCH_REQUESTS ?? 3000),
      identicalChats: [16, 64],
      log: (l) => process.stderr.write(`${l}\n`),
    });
    return { json: rows, markdown: embedBurstMarkdown(rows) };
  },
  async suite() {
    const report = await benchSuite(
      suiteOptionsFromArgs(process.argv.slice(3), (l) => process.stderr.write(`${l}\n`)),
    );
    return { json: undefined, markdown: await writeSuiteReport(report) };
  },
};

const name = process.argv[2] ?? "overhead";
const bench = BENCHES[name];
if (!bench) {
  process.stderr.write(`unknown benchmark '${name}': choose one of ${Object.keys(BENCHES).join(", ")}\n`);
  process.exit(2);
}
const { json, markdown } = await bench();
const dir = join(process.cwd(), "bench/results");
await mkdir(dir, { recursive: true });
if (json !== undefined)
  await writeFile(
    join(dir, `${name}.json`),
    JSON.stringify({ date: new Date().toISOString(), node: process.version, rows: json }, null, 2),
  );
process.stdout.write(`${markdown}\n`);
