/**
 * Events of a call made on behalf of other requests (a merged embedding call, a member proxied on its
 * own after it was announced): reported under the request they belong to, with the call's own start
 * left out (that request already reported its start) and its end optionally taken instead of sent.
 */
import { TypedEmitter } from "../util/typed-emitter.js";
import type { GatewayEvents, RequestRef } from "./gateway-events.js";

/** Forwards events to `target` with `ref` as their request; swallows `request-started`. */
export class RefEmitter extends TypedEmitter<GatewayEvents> {
  constructor(
    private readonly target: TypedEmitter<GatewayEvents>,
    private readonly ref: RequestRef,
    /** When given, receives `request-completed` instead of the target. */
    private readonly onCompleted?: (payload: GatewayEvents["request-completed"]) => void,
  ) {
    super();
  }

  override emit<K extends keyof GatewayEvents & string>(event: K, payload: GatewayEvents[K]): void {
    if (event === "request-started") return;
    const owned =
      payload !== null && typeof payload === "object" && "seq" in payload
        ? ({ ...payload, requestId: this.ref.requestId, seq: this.ref.seq } as GatewayEvents[K])
        : payload;
    if (event === "request-completed" && this.onCompleted) {
      this.onCompleted(owned as GatewayEvents["request-completed"]);
      return;
    }
    this.target.emit(event, owned);
  }
}
