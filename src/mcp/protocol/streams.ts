/**
 * The open notification streams of one handler: legacy GET streams (2025 sessions) and modern
 * `subscriptions/listen` streams. Hot reload publishes here; each stream formats its own message
 * (a modern one tags it with its subscription id).
 */
export interface ListChangedSubscriber {
  toolsListChanged(): void;
  /** Ends the stream; `graceful` sends the listen request's result first (modern era). */
  close(graceful: boolean): void;
}

export class StreamHub {
  private readonly subscribers = new Set<ListChangedSubscriber>();

  add(subscriber: ListChangedSubscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  get size(): number {
    return this.subscribers.size;
  }

  toolsListChanged(): void {
    for (const subscriber of this.subscribers) subscriber.toolsListChanged();
  }

  closeAll(): void {
    for (const subscriber of [...this.subscribers]) subscriber.close(true);
    this.subscribers.clear();
  }
}
