import type * as http from "node:http";
import type * as http2 from "node:http2";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { Logger } from "./logger.js";
import type { ProxyRequest } from "./exchange.js";

/** Request body bytes held by all requests together ({@link ProxyOptions.maxBufferedBytes}). */
export class ByteBudget {
  #used = 0;

  constructor(readonly max: number) {}

  /** Bytes held now. */
  get used(): number {
    return this.#used;
  }

  /** Takes `n` bytes; false, taking nothing, when that would go over the budget. */
  take(n: number): boolean {
    if (this.#used + n > this.max) return false;
    this.#used += n;
    return true;
  }

  /** Gives back `n` bytes taken before. */
  give(n: number): void {
    this.#used -= n;
  }
}

/** The limits a {@link ConnectionGuard} enforces (see ProxyOptions). */
export interface ConnectionLimits {
  maxConnections: number;
  maxConnectionsPerAddress: number;
  requestTimeoutMs: number;
  idleTimeoutMs: number;
}

/** One client connection's requests in flight, and the timer that closes it when it has none. */
interface Conn {
  inFlight: number;
  timer: NodeJS.Timeout | undefined;
  close(): void;
}

/**
 * Bounds the proxy's client connections: how many are open (in total and per IP address), how long one may wait
 * before its first request (after the TLS handshake), and how long one may sit idle with no request in flight.
 * HTTP/1.1 connections are tracked by socket, HTTP/2 ones by session; a connection with a call in flight, such as
 * a quiet watch, is never idle.
 */
export class ConnectionGuard {
  readonly #limits: ConnectionLimits;
  readonly #log: Logger;
  readonly #perAddress = new Map<string, number>();
  #total = 0;
  /** HTTP/1.1 connections by socket (TLS: the TLSSocket), HTTP/2 ones by session. */
  readonly #conns = new WeakMap<object, Conn>();

  constructor(limits: ConnectionLimits, log: Logger) {
    this.#limits = limits;
    this.#log = log;
  }

  /** Open client connections. */
  get total(): number {
    return this.#total;
  }

  /** Hooks the guard into a server: connection counting, the wait for a first request, idle connections. */
  attach(server: http.Server | http2.Http2SecureServer, tls: boolean): void {
    server.on("connection", (socket: Socket) => this.#admit(socket));
    if (!tls) {
      server.on("connection", (socket: Socket) => this.#track(socket, () => socket.destroy()));
      return;
    }
    server.on("secureConnection", (socket: TLSSocket) => {
      // HTTP/2 connections are tracked by their session (below); HTTP/1.1 ones by this socket.
      if (socket.alpnProtocol !== "h2") this.#track(socket, () => socket.destroy());
    });
    server.on("session", (session: http2.ServerHttp2Session) => {
      this.#track(session, () => (session.closed ? session.destroy() : session.close()));
      session.on("stream", (stream: http2.ServerHttp2Stream) => {
        const done = this.requestStarted(session);
        stream.once("close", done);
      });
    });
  }

  /** Counts a request in flight on its connection; returns the function that counts it out. */
  requestStarted(key: object): () => void {
    const conn = this.#conns.get(key);
    if (conn === undefined) return () => {};
    conn.inFlight++;
    if (conn.timer !== undefined) {
      clearTimeout(conn.timer);
      conn.timer = undefined;
    }
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--conn.inFlight === 0) this.#arm(conn, this.#limits.idleTimeoutMs);
    };
  }

  /** The key {@link requestStarted} expects for an HTTP/1.1 request (HTTP/2 streams are counted by `attach`). */
  static keyOf(req: ProxyRequest): object | undefined {
    return req.httpVersionMajor === 2 ? undefined : req.socket;
  }

  #admit(socket: Socket): void {
    const address = socket.remoteAddress ?? "";
    const fromAddress = this.#perAddress.get(address) ?? 0;
    if (this.#total >= this.#limits.maxConnections || fromAddress >= this.#limits.maxConnectionsPerAddress) {
      const which = this.#total >= this.#limits.maxConnections ? "maxConnections" : "maxConnectionsPerAddress";
      this.#log.debug(`connection from ${address} refused: ${which} reached`);
      socket.destroy();
      return;
    }
    this.#total++;
    this.#perAddress.set(address, fromAddress + 1);
    socket.once("close", () => {
      this.#total--;
      const n = (this.#perAddress.get(address) ?? 1) - 1;
      if (n === 0) this.#perAddress.delete(address);
      else this.#perAddress.set(address, n);
    });
  }

  #track(key: Socket | http2.ServerHttp2Session, close: () => void): void {
    if (key.destroyed) return;
    const conn: Conn = { inFlight: 0, timer: undefined, close };
    this.#conns.set(key, conn);
    // Its first request must come within the request timeout; after that, idle connections last idleTimeoutMs.
    this.#arm(conn, this.#limits.requestTimeoutMs);
    key.once("close", () => {
      if (conn.timer !== undefined) clearTimeout(conn.timer);
      conn.timer = undefined;
    });
  }

  #arm(conn: Conn, ms: number): void {
    if (conn.timer !== undefined) clearTimeout(conn.timer);
    conn.timer = setTimeout(() => {
      conn.timer = undefined;
      if (conn.inFlight === 0) conn.close();
    }, ms);
    conn.timer.unref();
  }
}
