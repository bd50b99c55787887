/**
 * Request coalescing and the entry point of both sharing features. An inference request whose answer
 * is a function of its body alone (see coalesce-key.ts) joins an identical request in flight: one
 * upstream call, an answer written once and fanned out to every client (a late joiner first gets what
 * was sent so far). The shared call is one ordinary proxied request, so routing, admission, retries
 * and mid-stream continuation apply to it unchanged. Embedding requests that are not identical may
 * still be merged into one upstream call (embed-merger.ts).
 */
import { once } from "node:events";
import type { Clock } from "../queue/clock.js";
import { normalizeModelName } from "../util/model-name.js";
import type { ResponseSink } from "./client-out.js";
import { coalesceKeyOf } from "./coalesce-key.js";
import { SharedResponse } from "./coalesce-response.js";
import { mergeCandidateOf } from "./embed-merge-plan.js";
import { EmbedMerger, type EmbedMergeStats } from "./embed-merger.js";
import type { RequestOutcome } from "./gateway-events.js";
import { proxyToSink, type InferenceCall, type ProxyClient, type ProxyDeps } from "./proxy.js";
import { RequestEvents } from "./request-events.js";

/** Settings of request sharing. */
export interface RequestSharingOptions {
  proxy: ProxyDeps;
  clock: Clock;
  /** EnableRequestCoalescing. */
  coalescing: boolean;
  /** EnableBatchProcessing: merge concurrent embedding requests. */
  embedMerging: boolean;
  /** MaxMergedEmbedInputs. */
  maxMergedInputs: number;
  /** BatchWindowMs: longest wait of a request for a busy model before its merged call goes anyway. */
  batchWindowMs: number;
  /** Upstream calls a model may have in flight before embedding requests start to collect. */
  lanes(model: string): number;
}

/** Counters shown by the admin API. */
export interface SharingStats {
  coalescing: {
    enabled: boolean;
    /** Upstream calls that served more than one client. */
    sharedCalls: number;
    /** Requests that joined a call in flight instead of making their own. */
    joins: number;
    /** Bytes replayed to late joiners. */
    replayedBytes: number;
    /** Coalescable calls in flight now. */
    inFlight: number;
  };
  embedMerging: { enabled: boolean } & EmbedMergeStats;
}

interface Entry {
  shared: SharedResponse;
  leaderRequestId: string;
  joiners: number;
}

/** Routes each inference request to coalescing, embedding merging or the plain proxy. */
export class RequestSharing {
  private readonly inFlight = new Map<string, Entry>();
  private readonly merger: EmbedMerger;
  private readonly counts = { sharedCalls: 0, joins: 0, replayedBytes: 0 };

  constructor(private readonly options: RequestSharingOptions) {
    this.merger = new EmbedMerger({
      proxy: options.proxy,
      clock: options.clock,
      maxInputs: options.maxMergedInputs,
      maxWaitMs: options.batchWindowMs,
      lanes: (model) => options.lanes(normalizeModelName(model)),
    });
  }

  /** Answers one request on `res`; settles when this client's answer is over. */
  async handle(call: InferenceCall, client: ProxyClient, res: ResponseSink): Promise<void> {
    const key = this.options.coalescing ? coalesceKeyOf(call.endpoint, call.parsed) : undefined;
    if (key === undefined) return this.produce(call, client, res);
    const existing = this.inFlight.get(key);
    if (existing?.shared.joinable) return this.join(existing, call, client, res);

    const shared = new SharedResponse();
    shared.join(res, client.requestId, true);
    const entry: Entry = { shared, leaderRequestId: client.requestId, joiners: 0 };
    this.inFlight.set(key, entry);
    const forget = (): void => {
      if (this.inFlight.get(key) === entry) this.inFlight.delete(key);
    };
    // Ended, dropped or left by everyone: later identical requests start a call of their own.
    shared.once("close", forget);
    try {
      await this.produce(call, client, shared);
    } finally {
      forget();
    }
  }

  stats(): SharingStats {
    return {
      coalescing: { enabled: this.options.coalescing, ...this.counts, inFlight: this.inFlight.size },
      embedMerging: { enabled: this.options.embedMerging, ...this.merger.stats() },
    };
  }

  /** Sends embedding requests still waiting for a merge and stops timers. */
  close(): void {
    this.merger.close();
  }

  private produce(call: InferenceCall, client: ProxyClient, sink: ResponseSink): Promise<void> {
    if (this.options.embedMerging) {
      const candidate = mergeCandidateOf(call.endpoint, call.parsed);
      if (candidate) return this.merger.submit(call, candidate, client, sink);
    }
    return proxyToSink(this.options.proxy, call, client, sink);
  }

  /** A joiner reports its own start and end; the shared call's work is reported by its leader. */
  private async join(
    entry: Entry,
    call: InferenceCall,
    client: ProxyClient,
    res: ResponseSink,
  ): Promise<void> {
    const deps = this.options.proxy;
    const { ev, startedMs, model } = RequestEvents.begin(deps, call, client);
    const closed = once(res, "close").catch(() => undefined);
    const replayedBytes = entry.shared.join(res, client.requestId) ?? 0;
    if (entry.joiners++ === 0) this.counts.sharedCalls++;
    this.counts.joins++;
    this.counts.replayedBytes += replayedBytes;
    deps.events.emit("request-coalesced", {
      ...ev.ref,
      endpoint: call.endpoint,
      model,
      leaderRequestId: entry.leaderRequestId,
      replayedBytes,
    });
    if (!res.writableFinished && !res.destroyed) await closed;
    const status = res.writableFinished ? (entry.shared.status ?? 200) : 499;
    const outcome: RequestOutcome = !res.writableFinished
      ? "aborted"
      : status < 400
        ? "ok"
        : status < 500
          ? "client_error"
          : "upstream_error";
    deps.events.emit("request-completed", {
      ...ev.ref,
      endpoint: call.endpoint,
      dialect: call.dialect,
      model,
      instanceId: entry.shared.instanceId,
      status,
      outcome,
      attempts: 0,
      stream: call.parsed.stream,
      queueWaitMs: 0,
      ttftMs: undefined,
      totalMs: deps.now() - startedMs,
      promptTokens: undefined,
      outputTokens: undefined,
    });
  }
}
