import { connect, type Socket } from 'node:net';

/** Whoever uses a connection for one request (the proxy's exchange). */
export interface ConnectionUser {
  /** `chunk` is only valid during the call (it is the shared read buffer): copy what must be kept. */
  onData(chunk: Buffer): void;
  /** The connection closed or failed while this user had it. */
  onClose(error: NodeJS.ErrnoException): void;
}

/** One kept-alive TCP connection to an instance; the listeners are attached once, not per request. */
export class UpstreamConnection {
  user: ConnectionUser | undefined;
  /** Served a request before: a failure before any answer may be the instance closing it meanwhile. */
  reused = false;
  /** When it went back to the pool, and when the instance said it would close it (its Keep-Alive timeout). */
  idleSince = 0;
  expiresAt = Infinity;
  private failure: NodeJS.ErrnoException | undefined;
  /** Still counted in the socket budget (until destroyed or closed, whichever comes first). */
  private counted = true;

  constructor(
    readonly socket: Socket,
    readonly port: number,
    private readonly pool: UpstreamPool,
    private readonly budget: SocketBudget,
  ) {
    socket.on('error', (error: NodeJS.ErrnoException) => (this.failure ??= error));
    socket.on('close', () => {
      this.uncount();
      pool.closed(this);
      const user = this.user;
      this.user = undefined;
      user?.onClose(this.failure ?? Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    });
  }

  destroy(error?: NodeJS.ErrnoException): void {
    if (error) this.failure ??= error;
    // The descriptor is closed now (its 'close' event comes later): the budget has it back at once.
    this.uncount();
    this.socket.destroy();
  }

  private uncount(): void {
    if (this.counted) {
      this.counted = false;
      this.budget.give();
    }
  }
}

/**
 * The sockets to instances all pools together may hold open: `frontdoor.maxConnections`, so that
 * with the client connections (capped at the same number) the front door's descriptors stay within
 * what `berth up` leaves it (docs/frontdoor.md, "Connection limits"). When it is spent, an idle
 * connection of some pool is closed to make room; when none is idle, the request is refused (503)
 * rather than the process running out of descriptors (a pipelining client can start many requests
 * on one connection through node:http).
 */
export class SocketBudget {
  private open = 0;

  constructor(
    readonly max: number,
    /** The pools to take an idle connection from when the budget is spent. */
    private readonly pools: Iterable<UpstreamPool>,
  ) {}

  get inUse(): number {
    return this.open;
  }

  /** One socket more, or false when all `max` are busy. */
  take(): boolean {
    if (this.open >= this.max) {
      for (const pool of this.pools) if (pool.closeOldestIdle()) break;
      if (this.open >= this.max) return false;
    }
    this.open++;
    return true;
  }

  give(): void {
    this.open--;
  }
}

export interface PoolOptions {
  connectTimeout: number;
  idleTimeout: number;
  maxIdle: number;
}

/**
 * The connections to one instance: idle ones are reused last-in first-out (the warmest first), at
 * most `maxIdle` are kept, and the sweep closes those idle past `idleTimeout` or the instance's own
 * Keep-Alive timeout (so a request rarely meets a connection the instance is closing).
 */
export class UpstreamPool {
  private readonly idle: UpstreamConnection[] = [];
  private readonly all = new Set<UpstreamConnection>();

  constructor(
    private readonly options: PoolOptions,
    /** Told when the pool gets its first connection and loses its last (the proxy sweeps only live pools). */
    private readonly liveness: (pool: UpstreamPool, live: boolean) => void,
    private readonly budget: SocketBudget,
  ) {}

  /**
   * A connection for one request: the warmest idle one, or a new one (always new when `fresh`);
   * undefined when the socket budget is spent.
   */
  acquire(port: number, fresh = false): UpstreamConnection | undefined {
    const now = Date.now();
    for (let conn = fresh ? undefined : this.idle.pop(); conn; conn = this.idle.pop()) {
      // Not one the instance has begun to close (its FIN read, our end pending).
      if (conn.port === port && conn.socket.writable && !conn.socket.readableEnded && conn.expiresAt > now) {
        conn.reused = true;
        return conn;
      }
      conn.destroy();
    }
    return this.connect(port);
  }

  /** A connection whose exchange ended cleanly: kept for the next request, or closed if enough are idle. */
  release(conn: UpstreamConnection, keepAliveMs: number | undefined): void {
    conn.user = undefined;
    if (this.idle.length >= this.options.maxIdle || conn.socket.destroyed) {
      conn.destroy();
      return;
    }
    conn.idleSince = Date.now();
    // Give up a second before the instance would, so no request races its close.
    conn.expiresAt = keepAliveMs === undefined ? Infinity : conn.idleSince + keepAliveMs - 1000;
    this.idle.push(conn);
  }

  closed(conn: UpstreamConnection): void {
    const at = this.idle.lastIndexOf(conn);
    if (at !== -1) this.idle.splice(at, 1);
    this.all.delete(conn);
    if (this.all.size === 0) this.liveness(this, false);
  }

  sweep(now: number): void {
    // Oldest idle connections sit at the bottom of the stack.
    while (this.idle.length > 0) {
      const oldest = this.idle[0]!;
      if (now - oldest.idleSince < this.options.idleTimeout && oldest.expiresAt > now) break;
      this.idle.shift();
      oldest.destroy();
    }
  }

  /** Closes the connection idle longest, if any is idle (the socket budget needs room). */
  closeOldestIdle(): boolean {
    const oldest = this.idle.shift();
    oldest?.destroy();
    return oldest !== undefined;
  }

  destroyAll(): void {
    for (const conn of this.all) conn.destroy();
  }

  private connect(port: number): UpstreamConnection | undefined {
    if (!this.budget.take()) return undefined;
    // Reads land in one shared buffer and go straight to the connection's user: no Readable stream,
    // no buffer allocated per read. Safe because the user consumes each read before the next one.
    const socket = connect({
      host: '127.0.0.1',
      port,
      noDelay: true,
      onread: {
        buffer: readBuffer,
        callback: (length: number, buffer: Uint8Array) => {
          if (conn.user) conn.user.onData((buffer as Buffer).subarray(0, length));
          else socket.destroy(); // an idle connection must stay silent
          return true;
        },
      },
    });
    // Declared after the socket it wraps; the read callback runs only once connected.
    const conn: UpstreamConnection = new UpstreamConnection(socket, port, this, this.budget);
    this.all.add(conn);
    if (this.all.size === 1) this.liveness(this, true);
    const timer = setTimeout(
      () => conn.destroy(Object.assign(new Error('connect timeout'), { code: 'BERTH_CONNECT_TIMEOUT' })),
      this.options.connectTimeout,
    );
    socket.once('connect', () => clearTimeout(timer));
    socket.once('close', () => clearTimeout(timer));
    return conn;
  }
}

/** The read buffer every upstream connection shares (reads are handled one at a time, synchronously). */
const readBuffer = Buffer.allocUnsafe(64 * 1024);
