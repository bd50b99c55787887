/**
 * Embedding merging at the I/O edge: members wait in the adaptive batcher, a batch of two or more goes
 * upstream as one `/api/embed` call through the normal proxy (routing, admission, failover), and the
 * answer is split back per member. A merged call that does not come back as a usable 200 is not
 * answered from: each member is then proxied on its own, so it gets exactly the answer or error it
 * would have had without merging (one member's bad input never fails the others).
 */
import type { Clock } from "../queue/clock.js";
import type { Priority } from "../routing/types.js";
import { normalizeModelName } from "../util/model-name.js";
import { ClientOut, type ResponseSink } from "./client-out.js";
import { CapturedResponse } from "./coalesce-response.js";
import { EmbedBatcher, type EmbedBatcherStats } from "./embed-merge-batcher.js";
import { buildMergedRequest, type MergeCandidate } from "./embed-merge-plan.js";
import { readMergedAnswer, renderShare, splitPromptTokens } from "./embed-merge-split.js";
import type { GatewayEvents } from "./gateway-events.js";
import { proxyToSink, type InferenceCall, type ProxyClient, type ProxyDeps } from "./proxy.js";
import { RefEmitter } from "./coalesce-events.js";
import { parseInference } from "./request-body.js";
import { RequestEvents } from "./request-events.js";

/** What the merger needs. */
export interface EmbedMergerOptions {
  proxy: ProxyDeps;
  clock: Clock;
  /** Most inputs in one merged call. */
  maxInputs: number;
  /** Longest a request waits for a busy group before its batch goes anyway (BatchWindowMs). */
  maxWaitMs: number;
  /** Upstream calls a model may have in flight before requests start to collect (its instances). */
  lanes(model: string): number;
}

/** Counters of embedding merging. */
export interface EmbedMergeStats extends EmbedBatcherStats {
  /** Merged calls whose answer was split back. */
  splitCalls: number;
  /** Merged calls that failed, after which each member went alone. */
  fallbacks: number;
  /** Inputs carried by merged calls, and how many of them were duplicates sent once. */
  mergedInputs: number;
  deduplicatedInputs: number;
}

interface Member {
  candidate: MergeCandidate;
  call: InferenceCall;
  client: ProxyClient;
  sink: ResponseSink;
  ev: RequestEvents;
  arrivedMs: number;
  gone: boolean;
  /** Set while the member rides in a merged call: what to do when it leaves. */
  onLeave: (() => void) | undefined;
  settle: () => void;
}

const PRIORITY_RANK: Record<Priority, number> = { high: 0, normal: 1, low: 2 };

/** Merges concurrent embedding requests of the same model and settings. */
export class EmbedMerger {
  private readonly batcher: EmbedBatcher<Member>;
  private readonly counts = { splitCalls: 0, fallbacks: 0, mergedInputs: 0, deduplicatedInputs: 0 };

  constructor(private readonly options: EmbedMergerOptions) {
    this.batcher = new EmbedBatcher<Member>({
      clock: options.clock,
      maxInputs: options.maxInputs,
      maxWaitMs: options.maxWaitMs,
      lanes: (key) => options.lanes(modelOfKey(key)),
      inputsOf: (m) => m.candidate.inputs.length,
      dispatch: (_key, batch) => this.dispatch(batch),
    });
  }

  /** Answers one embedding request, merged with others when they overlap; settles when it is answered. */
  submit(
    call: InferenceCall,
    candidate: MergeCandidate,
    client: ProxyClient,
    sink: ResponseSink,
  ): Promise<void> {
    const deps = this.options.proxy;
    const { ev, startedMs: arrivedMs } = RequestEvents.begin(deps, call, client);
    return new Promise<void>((resolve) => {
      let settled = false;
      const member: Member = {
        candidate,
        call,
        client,
        sink,
        ev,
        arrivedMs,
        gone: false,
        onLeave: undefined,
        settle: () => {
          if (settled) return;
          settled = true;
          sink.off("close", onClose);
          resolve();
        },
      };
      const onClose = (): void => {
        if (sink.writableFinished || member.gone) return;
        member.gone = true;
        if (this.batcher.remove(candidate.key, member)) {
          // Left before anything was sent upstream for it.
          this.completed(member, { status: 499, outcome: "aborted", attempts: 0 });
          member.settle();
        } else member.onLeave?.();
      };
      sink.on("close", onClose);
      this.batcher.add(candidate.key, member);
    });
  }

  stats(): EmbedMergeStats {
    return { ...this.batcher.stats(), ...this.counts };
  }

  /** Sends whatever still waits (nothing is dropped) and stops the timers. */
  close(): void {
    this.batcher.close();
  }

  private async dispatch(batch: Member[]): Promise<void> {
    const live = batch.filter((m) => !m.gone);
    if (live.length === 1 && live[0]) await this.alone(live[0]);
    else if (live.length > 1) await this.merged(live);
  }

  /** Proxies one member's own request, as if merging did not exist. */
  private async alone(m: Member): Promise<void> {
    const events = new RefEmitter(this.options.proxy.events, m.ev.ref);
    await proxyToSink({ ...this.options.proxy, events }, m.call, m.client, m.sink);
    m.settle();
  }

  private async merged(members: Member[]): Promise<void> {
    const deps = this.options.proxy;
    const plan = buildMergedRequest(members.map((m) => m.candidate));
    const body = Buffer.from(plan.body);
    const carrier = members[0] as Member;
    const priority = members
      .map((m) => m.call.priority)
      .reduce((a, b) => (PRIORITY_RANK[b] < PRIORITY_RANK[a] ? b : a));
    const call: InferenceCall = {
      endpoint: "embed",
      dialect: "ollama",
      path: "/api/embed",
      parsed: parseInference("embed", body),
      body,
      priority,
    };
    const capture = new CapturedResponse();
    const leave = (): void => {
      if (members.every((m) => m.gone)) capture.abandon();
    };
    for (const m of members) m.onLeave = leave;
    let upstream: GatewayEvents["request-completed"] | undefined;
    // The call's attempts are reported under the first member's request; its start and end are not
    // reported at all: each member reports its own.
    const events = new RefEmitter(deps.events, carrier.ev.ref, (e) => (upstream = e));
    const dispatchedMs = deps.now();
    await proxyToSink({ ...deps, events }, call, { ...carrier.client }, capture);
    await capture.done;
    for (const m of members) m.onLeave = undefined;

    const inputs = plan.slots.reduce((n, s) => n + s.length, 0);
    const report = (outcome: GatewayEvents["embed-merged"]["outcome"]): void =>
      deps.events.emit("embed-merged", {
        model: normalizeModelName(carrier.candidate.model),
        members: members.length,
        inputs,
        uniqueInputs: plan.uniqueInputs.length,
        instanceId: upstream?.instanceId,
        outcome,
      });
    const live = members.filter((m) => !m.gone);
    for (const m of members.filter((x) => x.gone)) {
      this.completed(m, { status: 499, outcome: "aborted", attempts: upstream?.attempts ?? 0 });
      m.settle();
    }
    if (live.length === 0) return report("abandoned");

    const answer =
      capture.complete && capture.status === 200
        ? readMergedAnswer(capture.text, plan.uniqueInputs.length)
        : undefined;
    if (!answer) {
      this.counts.fallbacks++;
      report("fallback");
      await Promise.all(live.map((m) => this.alone(m)));
      return;
    }
    this.counts.splitCalls++;
    this.counts.mergedInputs += inputs;
    this.counts.deduplicatedInputs += inputs - plan.uniqueInputs.length;
    report("split");
    const tokens = splitPromptTokens(answer.promptEvalCount, plan.uniqueInputs, plan.slots);
    const instanceId = capture.headers["x-ollama-fleet-instance"];
    members.forEach((m, i) => {
      if (m.gone) return;
      const { contentType, body: text } = renderShare({
        format: m.candidate.format,
        model: m.candidate.model,
        vectors: (plan.slots[i] ?? []).map((j) => answer.vectors[j] ?? "[]"),
        promptEvalCount: tokens[i] ?? 0,
        totalDurationNs: answer.totalDurationNs + Math.round((dispatchedMs - m.arrivedMs) * 1e6),
        loadDurationNs: answer.loadDurationNs,
      });
      new ClientOut(m.sink, m.call.dialect, m.client.requestId).sendWhole(200, contentType, text, instanceId);
      this.completed(m, {
        status: 200,
        outcome: "ok",
        attempts: upstream?.attempts ?? 1,
        instanceId,
        ttftMs: upstream?.ttftMs,
        queueWaitMs: upstream?.queueWaitMs,
        promptTokens: tokens[i],
      });
      m.settle();
    });
  }

  /** The member's own end-of-request event. */
  private completed(
    m: Member,
    r: Pick<GatewayEvents["request-completed"], "status" | "outcome" | "attempts"> &
      Partial<
        Pick<GatewayEvents["request-completed"], "instanceId" | "ttftMs" | "queueWaitMs" | "promptTokens">
      >,
  ): void {
    const deps = this.options.proxy;
    deps.events.emit("request-completed", {
      ...m.ev.ref,
      endpoint: m.call.endpoint,
      dialect: m.call.dialect,
      model: normalizeModelName(m.candidate.model),
      instanceId: r.instanceId,
      status: r.status,
      outcome: r.outcome,
      attempts: r.attempts,
      stream: false,
      queueWaitMs: r.queueWaitMs ?? 0,
      ttftMs: r.ttftMs,
      totalMs: deps.now() - m.arrivedMs,
      promptTokens: r.promptTokens,
      outputTokens: undefined,
    });
  }
}

/** The model of a merge key (the key is the canonical JSON of `[model, settings]`). */
function modelOfKey(key: string): string {
  const parsed = JSON.parse(key) as [string, unknown];
  return parsed[0];
}
