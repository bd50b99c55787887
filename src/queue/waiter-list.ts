/**
 * An intrusive doubly-linked FIFO: O(1) append and O(1) removal from anywhere, which the queue
 * needs because timeouts and client aborts take waiters out of the middle.
 */

/** What a node carries to be linked; `linked` is false once it left the list. */
export interface Linked<N> {
  prev: N | undefined;
  next: N | undefined;
  linked: boolean;
}

/** FIFO of intrusive nodes; a removed node keeps its `next` so a walk standing on it can go on. */
export class LinkedFifo<N extends Linked<N>> {
  head: N | undefined;
  tail: N | undefined;
  size = 0;

  /** Appends a node at the tail. */
  push(node: N): void {
    node.prev = this.tail;
    node.next = undefined;
    node.linked = true;
    if (this.tail) this.tail.next = node;
    else this.head = node;
    this.tail = node;
    this.size++;
  }

  /** Unlinks a node; a no-op for a node that is not in the list. */
  remove(node: N): void {
    if (!node.linked) return;
    if (node.prev) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.tail = node.prev;
    node.linked = false;
    // `next` stays: a pump walking the list may be standing on this node when place() removes it.
    node.prev = undefined;
    this.size--;
  }
}
