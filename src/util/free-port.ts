/** A free TCP port on 127.0.0.1, for tests, the benchmarks and the demo. */
import { createServer } from "node:net";

/** A port the OS just handed out and released (a small race, fine where nothing else binds ports). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      srv.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}
