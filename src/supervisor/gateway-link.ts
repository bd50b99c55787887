/**
 * The seam between the supervisor and the gateway's request path: the supervisor holds instances out of
 * rotation until they are ready, lowers an instance's capacity, keeps a moved model off an instance; the
 * gateway forwards every failed upstream attempt's message (where out-of-memory errors show up).
 */
import type { Fleet } from "../backend/fleet.js";
import type { RequestRouter } from "../backend/request-router.js";
import type { GatewayEvents } from "../http/gateway-events.js";
import type { TypedEmitter } from "../util/typed-emitter.js";
import type { SupervisorStats } from "./supervisor-types.js";

/** What the supervisor may ask of the gateway's routing. */
export interface RoutingControl {
  /** Keeps an instance out of rotation (`reason`: starting, restarting…) or lets it in (undefined). */
  setHold(id: string, reason: string | undefined): void;
  /** Changes how many requests the gateway sends an instance at once. */
  setCapacity(id: string, maxConcurrentRequests: number): void;
  /** Stops routing one model to an instance (it was moved away after an out-of-memory error). */
  blockModel(id: string, model: string): void;
}

/** One failed upstream attempt, as the proxy reports it. */
export interface UpstreamFailureReport {
  instanceId: string;
  /** Normalised model name. */
  model: string;
  status: number | undefined;
  /** Ollama's error text (or the transport error). */
  message: string;
}

/** The supervisor as the gateway sees it. */
export interface SupervisedFleet {
  /** Gives the supervisor its routing controls; it applies every instance's current hold at once. */
  attach(control: RoutingControl): void;
  /** A failed upstream attempt on one of its instances. */
  reportUpstreamFailure(failure: UpstreamFailureReport): void;
  /** States, restarts, recent output and out-of-memory counters (admin API, metrics, dashboard). */
  stats(): SupervisorStats;
  /** Starts a failed instance again; false when no instance by that id is failed. */
  retry(id: string): boolean;
  close(): Promise<void>;
}

/** What the link needs of a running gateway. */
export interface GatewayParts {
  fleet: Fleet;
  router: RequestRouter;
  events: TypedEmitter<GatewayEvents>;
}

/** Most inventory refreshes made while letting a ready instance in (enough to pass HealthyThreshold). */
const MAX_RELEASE_REFRESHES = 5;

/** Connects a supervisor to a gateway; returns the function that disconnects them. */
export function linkSupervisor(supervisor: SupervisedFleet, gw: GatewayParts): () => void {
  let linked = true;
  // The latest hold request per instance, so a slow release cannot undo a newer hold.
  const generation = new Map<string, number>();
  const control: RoutingControl = {
    setHold(id, reason) {
      const instance = gw.fleet.get(id);
      if (!instance || !linked) return;
      const gen = (generation.get(id) ?? 0) + 1;
      generation.set(id, gen);
      if (reason !== undefined) {
        instance.supervisorHold = reason;
        return;
      }
      // Ready: learn its models and pass the health thresholds with real probes before routing to it.
      void (async () => {
        for (let i = 0; i < MAX_RELEASE_REFRESHES; i++) {
          await gw.fleet.refresh(id);
          if (!linked || generation.get(id) !== gen) return;
          if (instance.health !== "unhealthy" && instance.lastError === undefined) break;
        }
        instance.supervisorHold = undefined;
        // A breaker opened by the crash guarded the old process; this one just passed its checks.
        instance.breaker.reset("instance restarted and ready");
        gw.router.queue.pump();
      })();
    },
    setCapacity(id, maxConcurrentRequests) {
      const instance = gw.fleet.get(id);
      if (instance) instance.spec.maxConcurrentRequests = maxConcurrentRequests;
    },
    blockModel(id, model) {
      gw.fleet.get(id)?.blockedModels.add(model);
    },
  };
  supervisor.attach(control);
  const off = gw.events.on("upstream-failure", (e) =>
    supervisor.reportUpstreamFailure({
      instanceId: e.instanceId,
      model: e.model,
      status: e.status,
      message: e.message,
    }),
  );
  return () => {
    linked = false;
    off();
  };
}
