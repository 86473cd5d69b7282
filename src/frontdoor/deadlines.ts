/** Something with a deadline, linked into a DeadlineQueue by its own fields (no allocation per entry). */
export interface Deadline {
  deadlineAt: number;
  deadlinePrev: Deadline | undefined;
  deadlineNext: Deadline | undefined;
  /** Set while queued. */
  deadlineQueued: boolean;
  expire(): void;
}

/**
 * Timeouts that all have the same length (the response timeout), with one timer for all of them.
 * Entries join at the tail, so the queue is in deadline order and only its head needs a timer;
 * adding and removing are O(1) and allocate nothing, unlike a setTimeout per request.
 */
export class DeadlineQueue {
  private head: Deadline | undefined;
  private tail: Deadline | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly ms: number) {}

  add(entry: Deadline): void {
    entry.deadlineAt = Date.now() + this.ms;
    entry.deadlinePrev = this.tail;
    entry.deadlineNext = undefined;
    entry.deadlineQueued = true;
    if (this.tail) this.tail.deadlineNext = entry;
    else this.head = entry;
    this.tail = entry;
    if (!this.timer) this.arm(this.ms);
  }

  remove(entry: Deadline): void {
    if (!entry.deadlineQueued) return;
    entry.deadlineQueued = false;
    if (entry.deadlinePrev) entry.deadlinePrev.deadlineNext = entry.deadlineNext;
    else this.head = entry.deadlineNext;
    if (entry.deadlineNext) entry.deadlineNext.deadlinePrev = entry.deadlinePrev;
    else this.tail = entry.deadlinePrev;
    entry.deadlinePrev = entry.deadlineNext = undefined;
    // The timer stays armed; when it fires for an empty queue it simply stops.
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.fire(), Math.max(1, ms));
    // Pending requests keep the process alive through their sockets, not through this timer.
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    const now = Date.now();
    while (this.head && this.head.deadlineAt <= now) {
      const expired = this.head;
      this.remove(expired);
      expired.expire();
    }
    if (this.head) this.arm(this.head.deadlineAt - now);
  }
}
