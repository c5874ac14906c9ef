import { STATIC_TABLE } from "./hpack-tables.js";
import { huffmanDecode } from "./huffman.js";

/** Response headers or trailers: lower-case names; a repeated name's values joined with ", ". */
export type H2Headers = Record<string, string>;

const EMPTY = new Uint8Array(0);

/** An entry's size in the dynamic table (RFC 7541 4.1). */
const entrySize = (name: string, value: string) => name.length + value.length + 32;

/**
 * HPACK decoder (RFC 7541) for response header blocks: static and dynamic
 * table, Huffman strings, table size updates. One per connection; blocks
 * must be decoded in the order they arrive, including blocks of streams the
 * client already gave up on, to keep the table in step with the server's.
 */
export class HpackDecoder {
  /** Dynamic table, oldest first: dynamic index 1 is the last entry. */
  private readonly entries: [string, string][] = [];
  private size = 0;
  private maxSize: number;

  /** @param limit the table size the client announced (SETTINGS_HEADER_TABLE_SIZE). */
  constructor(private readonly limit = 4096) {
    this.maxSize = limit;
  }

  /** The block being decoded, and the read position in it. */
  private buf: Uint8Array = EMPTY;
  private pos = 0;
  private end = 0;

  /** Decodes one complete header block; throws on malformed input (a connection error). */
  decode(buf: Uint8Array, start: number, end: number): H2Headers {
    const headers: H2Headers = {};
    this.buf = buf;
    this.pos = start;
    this.end = end;
    while (this.pos < end) {
      const b = buf[this.pos]!;
      if (b & 0x80) {
        // Indexed field.
        const [name, value] = this.entry(this.int(7));
        add(headers, name, value);
      } else if (b & 0x40) {
        // Literal with incremental indexing.
        const index = this.int(6);
        const name = index === 0 ? this.str() : this.entry(index)[0];
        const value = this.str();
        this.insert(name, value);
        add(headers, name, value);
      } else if (b & 0x20) {
        // Dynamic table size update.
        const size = this.int(5);
        if (size > this.limit) throw new Error(`HPACK table size ${size} is above ${this.limit}`);
        this.maxSize = size;
        this.evict(0);
      } else {
        // Literal without indexing, or never indexed.
        const index = this.int(4);
        const name = index === 0 ? this.str() : this.entry(index)[0];
        add(headers, name, this.str());
      }
    }
    this.buf = EMPTY; // do not hold on to the received bytes
    return headers;
  }

  private int(prefixBits: number): number {
    const { buf, end } = this;
    const mask = (1 << prefixBits) - 1;
    let value = buf[this.pos++]! & mask;
    if (value < mask) return value;
    let shift = 0;
    for (;;) {
      if (this.pos >= end) throw new Error("truncated HPACK integer");
      const b = buf[this.pos++]!;
      value += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) return value;
      if (shift > 28) throw new Error("HPACK integer too large");
    }
  }

  private str(): string {
    const huffman = (this.buf[this.pos]! & 0x80) !== 0;
    const len = this.int(7);
    const start = this.pos;
    this.pos += len;
    if (this.pos > this.end) throw new Error("truncated HPACK string");
    return huffman ? huffmanDecode(this.buf, start, this.pos) : latin1(this.buf, start, this.pos);
  }

  private entry(index: number): readonly [string, string] {
    if (index >= 1 && index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1]!;
    const e = this.entries[this.entries.length - (index - STATIC_TABLE.length)];
    if (index === 0 || e === undefined) throw new Error(`HPACK index ${index} is not in the table`);
    return e;
  }

  private insert(name: string, value: string): void {
    const size = entrySize(name, value);
    this.evict(size);
    if (size > this.maxSize) return; // too large: the table is now empty
    this.entries.push([name, value]);
    this.size += size;
  }

  /** Drops the oldest entries until `room` more bytes fit. */
  private evict(room: number): void {
    let drop = 0;
    while (this.size + room > this.maxSize && drop < this.entries.length) {
      const [n, v] = this.entries[drop++]!;
      this.size -= entrySize(n, v);
    }
    if (drop > 0) this.entries.splice(0, drop);
  }
}

/** Adds a field; a repeated name's values are joined with ", ". */
function add(headers: H2Headers, name: string, value: string): void {
  const prev = headers[name];
  headers[name] = prev === undefined ? value : `${prev}, ${value}`;
}

function latin1(buf: Uint8Array, start: number, end: number): string {
  // Header strings are short: this beats a TextDecoder call.
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]!);
  return s;
}

/**
 * HPACK encoder for request header blocks. It never evicts: a field goes into
 * the server's dynamic table only while the table has room for it, and is
 * sent as a one-byte reference afterwards (the method paths, content type,
 * authority and a bearer token repeat on every call). Everything else is a
 * literal without indexing. Strings are sent raw, not Huffman-coded.
 */
export class HpackEncoder {
  /** name → value → insertion number (0-based) of the entries the server holds. */
  private readonly indexed = new Map<string, Map<string, number>>();
  private inserted = 0;
  private used = 0;
  /** The server's table size (its SETTINGS_HEADER_TABLE_SIZE). */
  private limit = 4096;
  /** A table size update owed at the start of the next block. */
  private pendingUpdate = -1;
  private buf = new Uint8Array(256);
  private len = 0;

  /** Applies the server's SETTINGS_HEADER_TABLE_SIZE. */
  setTableSize(size: number): void {
    if (size >= this.used) {
      this.limit = size;
      return;
    }
    // Smaller than what is in use: start over with an empty table.
    this.indexed.clear();
    this.used = 0;
    this.limit = size;
    this.pendingUpdate = 0;
  }

  /** Starts a header block. */
  begin(): void {
    this.len = 0;
    if (this.pendingUpdate >= 0) {
      this.int(this.pendingUpdate, 5, 0x20);
      this.pendingUpdate = -1;
    }
  }

  /**
   * Adds a field. `staticName` is the static table index of the name (0: none);
   * `index` false keeps the field out of the table (values that change per call).
   */
  field(name: string, value: string, staticName: number, index: boolean): void {
    if (index) {
      let values = this.indexed.get(name);
      const at = values?.get(value);
      if (at !== undefined) {
        this.int(STATIC_TABLE.length + this.inserted - at, 7, 0x80);
        return;
      }
      const size = entrySize(name, value);
      if (this.used + size <= this.limit) {
        if (values === undefined) this.indexed.set(name, (values = new Map()));
        values.set(value, this.inserted++);
        this.used += size;
        this.literal(name, value, staticName, 6, 0x40);
        return;
      }
    }
    this.literal(name, value, staticName, 4, 0x00);
  }

  /** A fully indexed static field (e.g. `:method: POST` is 3). */
  staticField(index: number): void {
    this.int(index, 7, 0x80);
  }

  /** The block encoded since `begin()`; valid until the next `begin()`. */
  block(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  private literal(name: string, value: string, staticName: number, prefix: number, pattern: number): void {
    this.int(staticName, prefix, pattern);
    if (staticName === 0) this.str(name);
    this.str(value);
  }

  private int(value: number, prefixBits: number, pattern: number): void {
    this.room(8);
    const max = (1 << prefixBits) - 1;
    if (value < max) {
      this.buf[this.len++] = pattern | value;
      return;
    }
    this.buf[this.len++] = pattern | max;
    value -= max;
    while (value >= 0x80) {
      this.buf[this.len++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 128);
    }
    this.buf[this.len++] = value;
  }

  private str(s: string): void {
    this.int(s.length, 7, 0);
    this.room(s.length);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0xff || c === 0 || c === 10 || c === 13) throw new TypeError(`invalid character in HTTP/2 header: ${JSON.stringify(s)}`);
      this.buf[this.len++] = c;
    }
  }

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    bigger.set(this.buf.subarray(0, this.len));
    this.buf = bigger;
  }
}
