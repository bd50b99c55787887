/** A minimal typed wrapper over Node's EventEmitter, so components can emit typed events. */
import { EventEmitter } from "node:events";

/** Emitter whose event names and payloads are checked by the compiler. */
export class TypedEmitter<Events extends { [K in keyof Events]: unknown }> {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Metrics, logs and the dashboard all subscribe; a dozen listeners is normal, not a leak.
    this.emitter.setMaxListeners(100);
  }

  on<K extends keyof Events & string>(event: K, listener: (payload: Events[K]) => void): () => void {
    this.emitter.on(event, listener);
    return () => this.emitter.off(event, listener);
  }

  emit<K extends keyof Events & string>(event: K, payload: Events[K]): void {
    this.emitter.emit(event, payload);
  }

  removeAll(): void {
    this.emitter.removeAllListeners();
  }
}
