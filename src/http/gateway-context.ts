/** Everything the HTTP routes share, assembled once by the composition root. */
import type { Fleet } from "../backend/fleet.js";
import type { ProxyDeps } from "./proxy.js";
import type { AdminAuthSettings } from "./admin/admin-auth.js";
import type { RequestRouter } from "../backend/request-router.js";
import type { PerformanceTracker } from "../routing/performance-tracker.js";
import type { RequestSharing } from "./coalescer.js";
import type { CanaryRouter } from "../routing/canary.js";
import type { SupervisedFleet } from "../supervisor/gateway-link.js";

/** Shared dependencies of all route modules. */
export interface GatewayContext {
  fleet: Fleet;
  router: RequestRouter;
  perf: PerformanceTracker;
  /** The configured LoadBalancingStrategy. */
  strategy: string;
  proxy: ProxyDeps;
  adminAuth: AdminAuthSettings;
  /** Per-call timeout of fan-out requests (tags, ps, show...). */
  fanOutTimeoutMs: number;
  /** True when the fleet is the built-in emulated demo fleet; said loudly in headers. */
  emulated: boolean;
  /** The gateway's own version, sent as a header. */
  gatewayVersion: string;
  /** Request coalescing and embedding merging; without it every request is proxied on its own. */
  sharing?: RequestSharing;
  /** Canary splits ([Traffic] Canary) and the header that keeps a session on one version. */
  canary?: { router: CanaryRouter; sessionHeader: string } | undefined;
  /** The supervisor of launched instances (serve with GPUs or --provision); adds /fleet/supervisor. */
  supervisor?: SupervisedFleet | undefined;
}
