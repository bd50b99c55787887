/**
 * `npm run screenshots`: runs the emulated seed fleet behind a gateway, puts traffic on it (with a burst of
 * upstream errors on one GPU), and saves the dashboard in light and dark to docs/img/.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { pino } from "pino";
import { startEmulatedSeedFleet } from "../src/cli/demo-fleet.js";
import { defaultConfig } from "../src/config/load-config.js";
import { startGateway } from "../src/main.js";
import { chromiumMissing, launchChromium } from "../test/helpers/chromium.js";
import { driveLoad } from "../test/helpers/load-traffic.js";

const LOAD_MS = Number(process.env.SCREENSHOT_LOAD_MS ?? 90_000);
const OUT = join(process.cwd(), "docs/img");

const missing = chromiumMissing();
if (missing) {
  process.stderr.write(`${missing}\n`);
  process.exit(1);
}
const demo = await startEmulatedSeedFleet(4);
const config = defaultConfig();
config.gateway.listenPort = 0;
const gateway = await startGateway({
  config,
  logger: pino({ level: "silent" }),
  specs: demo.specs,
  emulated: true,
});
const browser = await launchChromium();
try {
  const stop = new AbortController();
  const burst = new AbortController();
  const models = demo.specs.flatMap((s) => s.models);
  // A steady trickle all along, and a burst in the middle third that fills the slots and the queue.
  const load = driveLoad(gateway.url, { models, concurrency: 2, numPredict: 48, signal: stop.signal });
  let burstLoad: ReturnType<typeof driveLoad> | undefined;
  setTimeout(() => {
    burstLoad = driveLoad(gateway.url, { models, concurrency: 5, numPredict: 64, signal: burst.signal });
  }, LOAD_MS / 3).unref();
  setTimeout(() => burst.abort(), (2 * LOAD_MS) / 3).unref();
  // A short burst of 500s on the first GPU, so the error views have something true to show.
  const firstPort = new URL(demo.specs[0]!.url).port;
  setTimeout(() => {
    void fetch(`http://127.0.0.1:${firstPort}/__sim/fault`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ kind: "error500", count: 2 }),
    });
  }, LOAD_MS * 0.4).unref();
  process.stderr.write(`traffic for ${LOAD_MS / 1000} s on ${gateway.url}/dashboard ...\n`);
  await new Promise((r) => setTimeout(r, LOAD_MS));

  await mkdir(OUT, { recursive: true });
  for (const scheme of ["light", "dark"] as const) {
    const page = await browser.browser.newPage({
      viewport: { width: 1440, height: 900 },
      colorScheme: scheme,
    });
    await page.goto(`${gateway.url}/dashboard`);
    await page.waitForSelector("#instances-table");
    await page.waitForSelector(".u-legend");
    await page.waitForTimeout(1500);
    const file = join(OUT, `dashboard-${scheme}.png`);
    await page.screenshot({ path: file, fullPage: true });
    process.stderr.write(`saved ${file}\n`);
    await page.close();
  }
  stop.abort();
  burst.abort();
  const statuses = { steady: await load, burst: await burstLoad };
  process.stderr.write(`load statuses: ${JSON.stringify(statuses)}\n`);
} finally {
  await browser.close();
  await gateway.close();
  await demo.close();
}
