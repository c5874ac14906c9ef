import * as net from "node:net";
import { nextTick } from "node:process";
import * as tls from "node:tls";
import {
  DEFAULT_MAX_FRAME,
  DEFAULT_WINDOW,
  ErrorCode,
  FRAME_HEADER,
  Flag,
  FrameType,
  PREFACE,
  Setting,
  errorCodeName,
} from "./frames.js";
import { HpackDecoder, HpackEncoder } from "./hpack.js";
import { REFUSED_CODE } from "./refused.js";
import { H2Stream, type H2StreamListener, type StreamHost } from "./stream.js";
import { StreamTable } from "./stream-table.js";

/** TLS settings of an {@link H2Connection}. */
export interface H2TlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
  /** Server name to verify (SNI). Default: the URL's host name, unless it is an IP address. */
  serverName?: string;
}

/** Options of {@link connectH2}. */
export interface H2ConnectOptions {
  /** Set for `https:` URLs. */
  tls?: H2TlsOptions;
  /** Called once when the connection is gone (after all its streams closed). */
  onClose?: (error: Error | undefined) => void;
  /** Called when the server sent GOAWAY: start new streams elsewhere. */
  onGoaway?: () => void;
}

/** How much the client lets the server send on each stream before it returns credit. */
const STREAM_WINDOW = 1 << 20;
/** The same for the connection as a whole. */
const CONNECTION_WINDOW = 16 << 20;
/** Our SETTINGS_HEADER_TABLE_SIZE (the HPACK default). */
const TABLE_SIZE = 4096;
const MAX_STREAM_ID = 2 ** 31 - 1;
/** A response header block larger than this (in CONTINUATION frames) ends the connection. */
const MAX_HEADER_BLOCK = 256 << 10;
/** Payload sizes of fixed-size frames (GOAWAY: at least). */
const fixedSizes: Partial<Record<number, number>> = {
  [FrameType.RstStream]: 4,
  [FrameType.Ping]: 8,
  [FrameType.Goaway]: 8,
  [FrameType.WindowUpdate]: 4,
};


/**
 * Opens an HTTP/2 client connection (`http:` over TCP, `https:` over TLS with
 * ALPN h2) for gRPC. Requests may start at once; they are written when the
 * socket connects.
 */
export function connectH2(url: string, options: H2ConnectOptions = {}): H2Connection {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, "");
  const secure = u.protocol === "https:";
  const port = Number(u.port || (secure ? 443 : 80));
  let socket: net.Socket;
  if (secure) {
    const t = options.tls ?? {};
    const servername = t.serverName ?? (net.isIP(host) ? undefined : host);
    socket = tls.connect({
      host,
      port,
      ALPNProtocols: ["h2"],
      ...(servername === undefined ? {} : { servername }),
      ...(t.ca === undefined ? {} : { ca: t.ca }),
      ...(t.cert === undefined ? {} : { cert: t.cert }),
      ...(t.key === undefined ? {} : { key: t.key }),
    });
  } else {
    socket = net.connect({ host, port });
  }
  return new H2Connection(socket, secure, u.host, options);
}

/**
 * One HTTP/2 client connection: framing, HPACK, flow control, PING and
 * GOAWAY, and nothing gRPC does not use (no push, no priorities). Writes are
 * gathered and go to the socket once per tick. (Over 400 lines on purpose: one
 * connection's state machine, whose invariants — windows, stream limits, the
 * GOAWAY boundary — are easier to check in one place, on the hot path.)
 */
export class H2Connection implements StreamHost {
  private readonly streams = new StreamTable<H2Stream>();
  /** Streams waiting for a slot under the server's MAX_CONCURRENT_STREAMS. */
  private readonly queued: H2Stream[] = [];
  /** Streams with DATA held back by a connection window that ran out. */
  private readonly blocked = new Set<H2Stream>();
  private readonly encoder = new HpackEncoder();
  private readonly decoder = new HpackDecoder(TABLE_SIZE);
  private readonly fixed: readonly [name: string, value: string, staticName: number][];
  private nextId = 1;
  private peerMaxStreams = Infinity;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrame = DEFAULT_MAX_FRAME;
  private sendWindow = DEFAULT_WINDOW;
  private unacked = 0;
  private out = Buffer.allocUnsafe(16384);
  private outLen = 0;
  private flushQueued = false;
  /** Bytes of a frame that spans socket reads. */
  private partial: Buffer | undefined;
  private heardFromServer = false;
  /** A header block continued in CONTINUATION frames. */
  private headerParts: { stream: number; endStream: boolean; chunks: Buffer[]; bytes: number } | undefined;
  private pings = new Map<bigint, (err?: Error) => void>();
  private pingSeq = 0n;
  private goingAway = false;
  private error: Error | undefined;
  /** Set when the connection is gone. */
  destroyed = false;

  constructor(
    private readonly socket: net.Socket,
    secure: boolean,
    authority: string,
    private readonly options: H2ConnectOptions,
  ) {
    this.fixed = [
      [":scheme", secure ? "https" : "http", 6],
      [":authority", authority, 1],
      ["content-type", "application/grpc+proto", 31],
      ["te", "trailers", 0],
    ];
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.read(chunk));
    socket.on("error", (err: Error) => this.destroy(err));
    socket.on("close", () => this.destroy(new Error("the HTTP/2 connection closed")));
    if (secure) {
      socket.once("secureConnect", () => {
        const alpn = (socket as tls.TLSSocket).alpnProtocol;
        if (alpn !== "h2") this.destroy(new Error(`the server did not agree to HTTP/2 over TLS (ALPN: ${alpn || "none"})`));
      });
    }
    this.put(PREFACE);
    this.frameHeader(12, FrameType.Settings, 0, 0);
    this.u16(Setting.EnablePush);
    this.u32(0);
    this.u16(Setting.InitialWindowSize);
    this.u32(STREAM_WINDOW);
    this.windowUpdate(0, CONNECTION_WINDOW - DEFAULT_WINDOW);
    this.scheduleFlush();
  }

  /** Whether new streams may start here (not after GOAWAY, an error or id exhaustion). */
  get usable(): boolean {
    return !this.destroyed && !this.goingAway && this.nextId < MAX_STREAM_ID;
  }

  /** Why the connection ended, if it failed. */
  get failure(): Error | undefined {
    return this.error;
  }

  /** Whether the server has answered (its first frame arrived): the connection is established. */
  get established(): boolean {
    return this.heardFromServer;
  }

  /** Whether the TCP/TLS connection is still being set up. */
  get connecting(): boolean {
    return this.socket.connecting;
  }

  /**
   * Starts a POST stream at `path` with the gRPC request headers plus
   * `extra` (lower-case names). Fields that repeat go into the server's HPACK
   * table; `grpc-timeout`, which changes per call, does not. Throws when the
   * connection takes no new streams (see `usable`).
   */
  request(path: string, extra: Record<string, string> | undefined, listener: H2StreamListener): H2Stream {
    if (!this.usable) throw this.error ?? refused("the HTTP/2 connection is closing");
    const stream = new H2Stream(this, listener);
    const e = this.encoder;
    e.begin();
    e.staticField(3); // :method POST
    e.field(":path", path, 4, true);
    for (const [name, value, staticName] of this.fixed) e.field(name, value, staticName, true);
    if (extra !== undefined) {
      for (const name in extra) e.field(name, extra[name]!, name === "authorization" ? 23 : 0, name !== "grpc-timeout");
    }
    const block = e.block();
    if (this.streams.size >= this.peerMaxStreams) {
      stream.headerBlock = block.slice();
      this.queued.push(stream);
    } else {
      this.start(stream, block);
    }
    return stream;
  }

  /** Sends a PING; `done` gets an error if the connection ends first. */
  ping(done: (err?: Error) => void): boolean {
    if (this.destroyed) return false;
    const id = ++this.pingSeq;
    this.pings.set(id, done);
    this.frameHeader(8, FrameType.Ping, 0, 0);
    this.u32(Number(id >> 32n));
    this.u32(Number(id & 0xffffffffn));
    this.scheduleFlush();
    return true;
  }

  /** Lets the process exit while this connection is idle. */
  unref(): void {
    this.socket.unref();
  }

  ref(): void {
    this.socket.ref();
  }

  /** Closes the connection now; open streams end with `error` (or a generic one). */
  destroy(error?: Error): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.error ??= error;
    const err = this.error ?? new Error("the HTTP/2 connection was closed");
    const all = [...this.queued, ...this.streams.list()];
    this.queued.length = 0;
    for (const s of all) s.finish(err, 0);
    for (const done of this.pings.values()) done(err);
    this.pings.clear();
    this.flush(); // a GOAWAY we owe the server, if any
    this.socket.destroy();
    this.options.onClose?.(this.error);
  }

  // StreamHost

  sendData(stream: H2Stream): void {
    if (stream.closed || stream.localEndSent) return;
    while (stream.pendingBytes > 0) {
      const room = Math.min(stream.sendWindow, this.sendWindow, this.peerMaxFrame);
      if (room <= 0) {
        if (this.sendWindow <= 0) this.blocked.add(stream);
        return;
      }
      // One DATA frame takes as many queued chunks as fit (a gRPC prefix and its message go together).
      const n = Math.min(room, stream.pendingBytes);
      const last = n === stream.pendingBytes && stream.localEnd;
      this.frameHeader(n, FrameType.Data, last ? Flag.EndStream : 0, stream.id);
      for (let left = n; left > 0; ) {
        const first = stream.pending[0]!;
        if (first.length <= left) {
          this.put(first);
          stream.pending.shift();
          left -= first.length;
        } else {
          this.put(first.subarray(0, left));
          stream.pending[0] = first.subarray(left);
          left = 0;
        }
      }
      stream.pendingBytes -= n;
      stream.sendWindow -= n;
      this.sendWindow -= n;
      if (last) stream.localEndSent = true;
    }
    if (stream.localEnd && !stream.localEndSent) {
      this.frameHeader(0, FrameType.Data, Flag.EndStream, stream.id);
      stream.localEndSent = true;
    }
    this.scheduleFlush();
    stream.notifyDrained();
  }

  sendReset(stream: H2Stream, code: number): void {
    if (stream.id === 0 || this.destroyed) return;
    this.frameHeader(4, FrameType.RstStream, 0, stream.id);
    this.u32(code);
    this.scheduleFlush();
  }

  sendStreamWindow(stream: H2Stream, increment: number): void {
    if (this.destroyed) return;
    this.windowUpdate(stream.id, increment);
    this.scheduleFlush();
  }

  forget(stream: H2Stream): void {
    if (stream.id === 0) {
      const i = this.queued.indexOf(stream);
      if (i >= 0) this.queued.splice(i, 1);
      return;
    }
    this.streams.delete(stream.id);
    this.blocked.delete(stream);
    this.startQueued();
    if (this.goingAway && this.streams.size === 0) this.destroy();
  }

  // Writing

  private start(stream: H2Stream, block: Uint8Array): void {
    stream.id = this.nextId;
    this.nextId += 2;
    stream.sendWindow = this.peerInitialWindow;
    this.streams.set(stream.id, stream);
    // Header blocks of gRPC calls are far below the 16 KiB frame size; split anyway if one is not.
    let at = 0;
    let type = FrameType.Headers;
    do {
      const n = Math.min(block.length - at, this.peerMaxFrame);
      const end = at + n === block.length;
      this.frameHeader(n, type, end ? Flag.EndHeaders : 0, stream.id);
      this.put(block.subarray(at, at + n));
      at += n;
      type = FrameType.Continuation;
    } while (at < block.length);
    this.scheduleFlush();
  }

  private windowUpdate(streamId: number, increment: number): void {
    this.frameHeader(4, FrameType.WindowUpdate, 0, streamId);
    this.u32(increment);
  }

  private frameHeader(length: number, type: number, flags: number, streamId: number): void {
    this.room(FRAME_HEADER);
    const o = this.out;
    let i = this.outLen;
    o[i++] = length >>> 16;
    o[i++] = (length >>> 8) & 0xff;
    o[i++] = length & 0xff;
    o[i++] = type;
    o[i++] = flags;
    o.writeUInt32BE(streamId, i);
    this.outLen = i + 4;
  }

  private u16(v: number): void {
    this.room(2);
    this.out.writeUInt16BE(v, this.outLen);
    this.outLen += 2;
  }

  private u32(v: number): void {
    this.room(4);
    this.out.writeUInt32BE(v >>> 0, this.outLen);
    this.outLen += 4;
  }

  private put(bytes: Uint8Array): void {
    this.room(bytes.length);
    this.out.set(bytes, this.outLen);
    this.outLen += bytes.length;
  }

  private room(n: number): void {
    if (this.outLen + n <= this.out.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.outLen + n));
    this.out.copy(bigger, 0, 0, this.outLen);
    this.out = bigger;
  }

  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    // After the promise jobs of this turn: calls started together share one write.
    nextTick(this.flush);
  }

  /** An arrow bound once, so scheduling a flush makes no closure. */
  private readonly flush = (): void => {
    this.flushQueued = false;
    if (this.outLen === 0 || this.socket.destroyed) return;
    const chunk = Buffer.allocUnsafe(this.outLen);
    this.out.copy(chunk, 0, 0, this.outLen);
    this.outLen = 0;
    this.socket.write(chunk);
  };

  // Reading

  private read(chunk: Buffer): void {
    let buf = chunk;
    if (this.partial !== undefined) {
      buf = Buffer.concat([this.partial, chunk]);
      this.partial = undefined;
    }
    let pos = 0;
    if (!this.heardFromServer) {
      // The server's first frame must be SETTINGS (RFC 9113 3.4); anything else is not an HTTP/2 server.
      if (buf.length < FRAME_HEADER) return void (this.partial = buf);
      this.heardFromServer = true;
      if (buf[3] !== FrameType.Settings) {
        const start = buf.subarray(0, 40).toString("latin1").replace(/[^\x20-\x7e]+/g, " ").trim();
        return this.destroy(new Error(`the server does not speak HTTP/2 here (it answered: ${JSON.stringify(start)})`));
      }
    }
    try {
      while (buf.length - pos >= FRAME_HEADER && !this.destroyed) {
        const length = (buf[pos]! << 16) | (buf[pos + 1]! << 8) | buf[pos + 2]!;
        if (length > DEFAULT_MAX_FRAME) throw new ConnectionError(ErrorCode.FrameSizeError, `frame of ${length} bytes is above ${DEFAULT_MAX_FRAME}`);
        if (buf.length - pos < FRAME_HEADER + length) break;
        const type = buf[pos + 3]!;
        const flags = buf[pos + 4]!;
        const streamId = buf.readUInt32BE(pos + 5) & 0x7fffffff;
        const start = pos + FRAME_HEADER;
        pos = start + length;
        this.frame(type, flags, streamId, buf, start, pos);
      }
    } catch (err) {
      const code = err instanceof ConnectionError ? err.code : ErrorCode.ProtocolError;
      this.goaway(code);
      this.destroy(new Error(`HTTP/2 protocol error from the server: ${(err as Error).message}`));
      return;
    }
    if (pos < buf.length && !this.destroyed) this.partial = buf.subarray(pos);
    if (this.outLen > 0) this.scheduleFlush();
  }

  private frame(type: number, flags: number, streamId: number, buf: Buffer, start: number, end: number): void {
    if (this.headerParts !== undefined && type !== FrameType.Continuation) {
      throw new ConnectionError(ErrorCode.ProtocolError, "expected CONTINUATION");
    }
    const size = fixedSizes[type];
    if (size !== undefined && (type === FrameType.Goaway ? end - start < size : end - start !== size)) {
      throw new ConnectionError(ErrorCode.FrameSizeError, `frame type ${type} with ${end - start} bytes`);
    }
    switch (type) {
      case FrameType.Data:
        return this.onData(flags, streamId, buf, start, end);
      case FrameType.Headers: {
        if (flags & Flag.Padded) end -= buf[start++]!;
        if (flags & Flag.Priority) start += 5;
        if (start > end) throw new ConnectionError(ErrorCode.ProtocolError, "bad HEADERS padding");
        const endStream = (flags & Flag.EndStream) !== 0;
        if (flags & Flag.EndHeaders) return this.onHeaders(streamId, endStream, buf, start, end);
        this.headerParts = { stream: streamId, endStream, chunks: [buf.subarray(start, end)], bytes: end - start };
        return;
      }
      case FrameType.Continuation: {
        const parts = this.headerParts;
        if (parts === undefined || parts.stream !== streamId) throw new ConnectionError(ErrorCode.ProtocolError, "unexpected CONTINUATION");
        parts.chunks.push(buf.subarray(start, end));
        parts.bytes += end - start;
        if (parts.bytes > MAX_HEADER_BLOCK) throw new ConnectionError(ErrorCode.ProtocolError, `header block above ${MAX_HEADER_BLOCK} bytes`);
        if ((flags & Flag.EndHeaders) === 0) return;
        this.headerParts = undefined;
        const block = Buffer.concat(parts.chunks);
        return this.onHeaders(streamId, parts.endStream, block, 0, block.length);
      }
      case FrameType.RstStream: {
        const code = buf.readUInt32BE(start);
        const stream = this.streams.get(streamId);
        if (stream === undefined) return;
        const name = errorCodeName(code);
        const error = code === ErrorCode.NoError ? undefined : Object.assign(new Error(`Stream closed with error code ${name}`), code === ErrorCode.RefusedStream ? { code: REFUSED_CODE } : { code: name });
        return stream.finish(error, code);
      }
      case FrameType.Settings:
        if (flags & Flag.Ack) return;
        return this.onSettings(buf, start, end);
      case FrameType.PushPromise:
        throw new ConnectionError(ErrorCode.ProtocolError, "PUSH_PROMISE although push is off");
      case FrameType.Ping:
        if (flags & Flag.Ack) {
          const id = buf.readBigUInt64BE(start);
          const done = this.pings.get(id);
          this.pings.delete(id);
          done?.();
          return;
        }
        this.frameHeader(8, FrameType.Ping, Flag.Ack, 0);
        this.put(buf.subarray(start, start + 8));
        return;
      case FrameType.Goaway:
        return this.onGoaway(buf.readUInt32BE(start) & 0x7fffffff, buf.readUInt32BE(start + 4), buf.subarray(start + 8, end));
      case FrameType.WindowUpdate: {
        const increment = buf.readUInt32BE(start) & 0x7fffffff;
        if (streamId === 0) {
          this.sendWindow += increment;
          for (const s of [...this.blocked]) {
            this.blocked.delete(s);
            this.sendData(s);
          }
          return;
        }
        const stream = this.streams.get(streamId);
        if (stream === undefined) return;
        stream.sendWindow += increment;
        return this.sendData(stream);
      }
      default:
        return; // PRIORITY and unknown frames carry nothing for a client
    }
  }

  private onData(flags: number, streamId: number, buf: Buffer, start: number, end: number): void {
    // Flow control counts the whole payload, padding included, whatever the stream's state.
    const size = end - start;
    this.unacked += size;
    if (this.unacked >= CONNECTION_WINDOW / 2) {
      this.windowUpdate(0, this.unacked);
      this.unacked = 0;
    }
    const stream = this.streams.get(streamId);
    if (stream === undefined || stream.remoteEnd) return;
    if (flags & Flag.Padded) end -= buf[start++]!;
    if (start > end) throw new ConnectionError(ErrorCode.ProtocolError, "bad DATA padding");
    const endStream = (flags & Flag.EndStream) !== 0;
    if (!endStream) {
      stream.unacked += size;
      if (!stream.paused && stream.unacked >= STREAM_WINDOW / 2) {
        this.windowUpdate(streamId, stream.unacked);
        stream.unacked = 0;
      }
    }
    if (end > start) stream.listener.onData(new Uint8Array(buf.buffer, buf.byteOffset + start, end - start));
    if (endStream) this.remoteEnded(stream);
  }

  private onHeaders(streamId: number, endStream: boolean, block: Buffer, start: number, end: number): void {
    let headers;
    try {
      headers = this.decoder.decode(block, start, end);
    } catch (err) {
      throw new ConnectionError(ErrorCode.CompressionError, (err as Error).message);
    }
    const stream = this.streams.get(streamId);
    if (stream === undefined || stream.remoteEnd) return;
    // 1xx answers are not the response.
    const status = headers[":status"];
    if (status !== undefined && status.length === 3 && status[0] === "1") return;
    stream.listener.onHeaders(headers, endStream);
    if (endStream) this.remoteEnded(stream);
  }

  private remoteEnded(stream: H2Stream): void {
    stream.remoteEnd = true;
    if (stream.closed) return;
    // The answer is complete: a request still being sent is of no use (gRPC's rule too).
    if (!stream.localEndSent) this.sendReset(stream, ErrorCode.NoError);
    stream.finish(undefined, 0);
  }

  private onSettings(buf: Buffer, start: number, end: number): void {
    if ((end - start) % 6 !== 0) throw new ConnectionError(ErrorCode.FrameSizeError, "SETTINGS length");
    for (let i = start; i < end; i += 6) {
      const id = buf.readUInt16BE(i);
      const value = buf.readUInt32BE(i + 2);
      switch (id) {
        case Setting.HeaderTableSize:
          this.encoder.setTableSize(value);
          break;
        case Setting.MaxConcurrentStreams:
          this.peerMaxStreams = value;
          break;
        case Setting.InitialWindowSize: {
          if (value > MAX_STREAM_ID) throw new ConnectionError(ErrorCode.FlowControlError, "INITIAL_WINDOW_SIZE too large");
          const delta = value - this.peerInitialWindow;
          this.peerInitialWindow = value;
          for (const s of this.streams.list()) s.sendWindow += delta;
          break;
        }
        case Setting.MaxFrameSize:
          if (value < DEFAULT_MAX_FRAME || value > 16777215) throw new ConnectionError(ErrorCode.ProtocolError, "bad MAX_FRAME_SIZE");
          this.peerMaxFrame = value;
          break;
      }
    }
    this.frameHeader(0, FrameType.Settings, Flag.Ack, 0);
    for (const s of this.streams.list()) if (s.pendingBytes > 0) this.sendData(s);
    this.startQueued();
  }

  /** Starts queued streams that now fit under MAX_CONCURRENT_STREAMS. */
  private startQueued(): void {
    while (this.queued.length > 0 && this.streams.size < this.peerMaxStreams && this.usable) {
      const next = this.queued.shift()!;
      this.start(next, next.headerBlock!);
      next.headerBlock = undefined;
      if (next.pendingBytes > 0 || next.localEnd) this.sendData(next);
    }
  }

  private onGoaway(lastStreamId: number, code: number, debug: Buffer): void {
    this.goingAway = true;
    const why = `the server sent GOAWAY ${errorCodeName(code)}${debug.length > 0 ? ` (${debug.toString("latin1")})` : ""}`;
    // Streams above the last one the server took were never processed: safe to send again.
    for (const s of this.streams.list()) if (s.id > lastStreamId) s.finish(refused(why), ErrorCode.RefusedStream);
    for (const s of this.queued.splice(0)) s.finish(refused(why), ErrorCode.RefusedStream);
    this.options.onGoaway?.();
    if (code !== ErrorCode.NoError) this.error ??= new Error(why);
    if (this.streams.size === 0) this.destroy();
  }

  private goaway(code: number): void {
    this.frameHeader(8, FrameType.Goaway, 0, 0);
    this.u32(0);
    this.u32(code);
    this.flush();
  }
}

/** A failure that ends the whole connection (RFC 9113 5.4.1). */
class ConnectionError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function refused(message: string): Error {
  return Object.assign(new Error(message), { code: REFUSED_CODE });
}
