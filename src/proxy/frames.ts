// gRPC(-Web) length-prefixed frames: 1 flag byte, 4-byte big-endian length, payload.
// The proxy never decodes messages; it only reads frame headers to enforce limits.

/** gRPC status codes the proxy produces itself. */
export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** A gRPC status; `message` is the raw text (not yet percent-encoded). */
export interface GrpcStatus {
  code: number;
  message: string;
}

/** Flag of a gRPC-Web trailer frame. */
export const TRAILER_FLAG = 0x80;

/**
 * Percent-encodes a grpc-message value as the gRPC spec asks: bytes outside printable ASCII, and `%`, become
 * `%XX` of their UTF-8 encoding.
 */
export function encodeGrpcMessage(message: string): string {
  let out = "";
  for (const byte of Buffer.from(message, "utf8")) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** Decodes a percent-encoded grpc-message (as etcd sends it); malformed escapes are kept as they are. */
export function decodeGrpcMessage(value: string): string {
  if (!value.includes("%")) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    // grpc-go encodes per byte, so a lone escape of a partial UTF-8 sequence can fail: decode byte by byte.
    const bytes: number[] = [];
    for (let i = 0; i < value.length; i++) {
      const hex = value.slice(i + 1, i + 3);
      if (value[i] === "%" && /^[0-9a-fA-F]{2}$/.test(hex)) {
        bytes.push(parseInt(hex, 16));
        i += 2;
      } else {
        bytes.push(...Buffer.from(value[i]!, "utf8"));
      }
    }
    return Buffer.from(bytes).toString("utf8");
  }
}

/** Builds the gRPC-Web trailer frame that ends every response: `grpc-status` and (when not empty) `grpc-message`. */
export function encodeTrailerFrame(status: GrpcStatus): Buffer {
  let text = `grpc-status: ${status.code}\r\n`;
  if (status.message !== "") text += `grpc-message: ${encodeGrpcMessage(status.message)}\r\n`;
  const body = Buffer.from(text, "latin1");
  const frame = Buffer.allocUnsafe(5 + body.length);
  frame[0] = TRAILER_FLAG;
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, 5);
  return frame;
}

/**
 * Reads a gRPC status from upstream headers or trailers (`grpc-status`, `grpc-message`); undefined when there is
 * no valid `grpc-status`.
 */
export function statusFromHeaders(headers: Record<string, string | string[] | undefined>): GrpcStatus | undefined {
  const raw = first(headers["grpc-status"]);
  if (raw === undefined || !/^\d{1,2}$/.test(raw.trim())) return undefined;
  const code = Number(raw.trim());
  if (code > 16) return undefined;
  return { code, message: decodeGrpcMessage(first(headers["grpc-message"]) ?? "") };
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Why a request body was refused. */
export interface FrameError extends GrpcStatus {}

/**
 * Splits a gRPC request body into whole frames, chunk by chunk, reading only the 5-byte frame headers: every frame
 * must be uncompressed (flag 0) and at most `maxBytes` long, the whole body at most `maxBytes`, and the body must
 * not end inside a frame. Only whole frames come out, so a partial frame never reaches etcd. A frame inside one
 * chunk comes out as a view of it (no copy); a frame spread over chunks is gathered into one buffer of its size,
 * so that the socket's read buffers are not kept alive by a slow sender. Every frame's bytes are reserved with
 * `reserve` first (the proxy's byte budget), the claimed length of a spread frame as soon as its header is read.
 * Once it has reported an error it must not be used again.
 */
export class FrameSplitter {
  readonly #max: number;
  readonly #reserve: (bytes: number) => boolean;
  /** A frame header split across chunks (made only when one is). */
  #header: Buffer | undefined;
  #headerFill = 0;
  #total = 0;
  /** The frame being gathered (header included), and how much of it is filled. */
  #partial: Buffer | undefined;
  #partialFill = 0;

  constructor(maxBytes: number, reserve: (bytes: number) => boolean) {
    this.#max = maxBytes;
    this.#reserve = reserve;
  }

  /** Bytes reserved for the frame being gathered (its full size), 0 between frames. */
  get pendingBytes(): number {
    return this.#partial?.length ?? 0;
  }

  /** Splits the next chunk, appending whole frames to `out`; returns an error as soon as the body breaks a rule. */
  push(chunk: Buffer, out: Buffer[]): FrameError | undefined {
    this.#total += chunk.length;
    if (this.#total > this.#max) {
      return { code: Status.RESOURCE_EXHAUSTED, message: `request body larger than ${this.#max} bytes` };
    }
    let i = 0;
    while (i < chunk.length) {
      const partial = this.#partial;
      if (partial !== undefined) {
        const n = Math.min(partial.length - this.#partialFill, chunk.length - i);
        chunk.copy(partial, this.#partialFill, i, i + n);
        this.#partialFill += n;
        i += n;
        if (this.#partialFill === partial.length) {
          out.push(partial);
          this.#partial = undefined;
        }
        continue;
      }
      const start = i - this.#headerFill; // where the frame begins in this chunk (negative: in an earlier one)
      let head: Buffer;
      let at: number;
      if (this.#headerFill === 0 && i + 5 <= chunk.length) {
        head = chunk; // the usual case: the whole header in this chunk
        at = i;
        i += 5;
      } else {
        const h = (this.#header ??= Buffer.alloc(5));
        const n = Math.min(5 - this.#headerFill, chunk.length - i);
        h.set(chunk.subarray(i, i + n), this.#headerFill);
        this.#headerFill += n;
        i += n;
        if (this.#headerFill < 5) break;
        this.#headerFill = 0;
        head = h;
        at = 0;
      }
      if (head[at] !== 0) {
        return { code: Status.INVALID_ARGUMENT, message: "compressed or invalid frame" };
      }
      const length = head.readUInt32BE(at + 1);
      if (length > this.#max) {
        return { code: Status.RESOURCE_EXHAUSTED, message: `request message larger than ${this.#max} bytes` };
      }
      if (!this.#reserve(5 + length)) return outOfBuffers();
      if (start >= 0 && i + length <= chunk.length) {
        out.push(chunk.subarray(start, i + length)); // whole in this chunk
        i += length;
        continue;
      }
      const frame = Buffer.allocUnsafe(5 + length);
      head.copy(frame, 0, at, at + 5);
      if (length === 0) out.push(frame);
      else {
        this.#partial = frame;
        this.#partialFill = 5;
      }
    }
    return undefined;
  }

  /** Call at the end of the body: an error if it stopped inside a frame header or payload. */
  end(): FrameError | undefined {
    if (this.#headerFill > 0 || this.#partial !== undefined) {
      return { code: Status.INVALID_ARGUMENT, message: "truncated frame at end of request body" };
    }
    return undefined;
  }
}

/** The error of a request that would take the proxy over its byte budget. */
export function outOfBuffers(): FrameError {
  return { code: Status.RESOURCE_EXHAUSTED, message: "the proxy is holding as many request bytes as it may (maxBufferedBytes); try again" };
}
