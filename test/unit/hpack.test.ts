import { describe, expect, it } from "vitest";
import { HpackDecoder, HpackEncoder } from "../../src/transport/h2/hpack.js";
import { huffmanDecode } from "../../src/transport/h2/huffman.js";

const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!, (b) => parseInt(b, 16));
const decode = (d: HpackDecoder, bytes: Uint8Array) => d.decode(bytes, 0, bytes.length);

// Test vectors of RFC 7541 Appendix C.
describe("HPACK decoder", () => {
  it("decodes Huffman-coded requests (C.4.1)", () => {
    expect(decode(new HpackDecoder(), hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"))).toEqual({
      ":method": "GET",
      ":scheme": "http",
      ":path": "/",
      ":authority": "www.example.com",
    });
  });

  it("decodes a series of Huffman-coded responses with evictions from a 256-byte table (C.6)", () => {
    const d = new HpackDecoder(256);
    expect(
      decode(
        d,
        hex(`4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
             2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`),
      ),
    ).toEqual({ ":status": "302", "cache-control": "private", date: "Mon, 21 Oct 2013 20:13:21 GMT", location: "https://www.example.com" });
    // Only table references and one new literal: the table kept the first response's fields.
    expect(decode(d, hex("4883 640e ffc1 c0bf"))).toEqual({
      ":status": "307",
      "cache-control": "private",
      date: "Mon, 21 Oct 2013 20:13:21 GMT",
      location: "https://www.example.com",
    });
    expect(
      decode(
        d,
        hex(`88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
             77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
             9587 3160 65c0 03ed 4ee5 b106 3d50 07`),
      ),
    ).toEqual({
      ":status": "200",
      "cache-control": "private",
      date: "Mon, 21 Oct 2013 20:13:22 GMT",
      location: "https://www.example.com",
      "content-encoding": "gzip",
      "set-cookie": "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
    });
    // The third response evicted ":status: 307" (then at dynamic index 4 of 4): it is gone.
    expect(() => decode(d, hex("c1 c2"))).toThrow(/not in the table/);
  });

  it("refuses bad Huffman padding, unknown indexes and a table larger than announced", () => {
    // "a" is 00011: padded with ones it is valid; with zeros, or with more than 7 bits of padding, it is not.
    expect(huffmanDecode(hex("1f"), 0, 1)).toBe("a");
    expect(() => huffmanDecode(hex("18"), 0, 1)).toThrow(/padding/);
    expect(() => huffmanDecode(hex("1fff"), 0, 2)).toThrow(/padding/);
    expect(() => decode(new HpackDecoder(), hex("be"))).toThrow(/not in the table/);
    expect(() => decode(new HpackDecoder(4096), hex("3fe1 3f"))).toThrow(/above 4096/); // size update to 8192
  });

  it("joins repeated fields", () => {
    // Two literal "set-cookie" fields (static name 55) without indexing.
    expect(decode(new HpackDecoder(), hex("0f28 0161 0f28 0162"))).toEqual({ "set-cookie": "a, b" });
  });
});

describe("HPACK encoder", () => {
  const block = (e: HpackEncoder, fields: [string, string, number, boolean][]) => {
    e.begin();
    e.staticField(3);
    for (const [n, v, s, i] of fields) e.field(n, v, s, i);
    return e.block().slice();
  };

  it("sends repeating fields as table references once the server has them, and per-call ones as literals", () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    const fields: [string, string, number, boolean][] = [
      [":path", "/etcdserverpb.KV/Put", 4, true],
      ["content-type", "application/grpc+proto", 31, true],
      ["te", "trailers", 0, true],
      ["grpc-timeout", "5000m", 0, false],
    ];
    const first = block(e, fields);
    expect(decode(d, first)).toEqual({ ":method": "POST", ":path": "/etcdserverpb.KV/Put", "content-type": "application/grpc+proto", te: "trailers", "grpc-timeout": "5000m" });
    const second = block(e, fields.map(([n, v, s, i]) => [n, n === "grpc-timeout" ? "4000m" : v, s, i]));
    // :method, then three one-byte references, then the timeout literal (1 + 1 + 12 + 1 + 5).
    expect(second.length).toBe(1 + 3 + 20);
    expect(decode(d, second)["grpc-timeout"]).toBe("4000m");
    expect(decode(d, second)[":path"]).toBe("/etcdserverpb.KV/Put");
  });

  it("stops indexing when the server's table is full, and starts over when it shrinks", () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    const many = Array.from({ length: 60 }, (_, i): [string, string, number, boolean] => [`x-h${i}`, "v".repeat(40), 0, true]);
    const all = Object.fromEntries(many.map(([n, v]) => [n, v]));
    expect(decode(d, block(e, many))).toEqual({ ":method": "POST", ...all });
    expect(decode(d, block(e, many))).toEqual({ ":method": "POST", ...all });
    e.setTableSize(0);
    const afterShrink = block(e, many.slice(0, 2));
    expect(afterShrink[0]).toBe(0x20); // table size update to 0 first
    expect(decode(d, afterShrink)).toEqual({ ":method": "POST", "x-h0": all["x-h0"], "x-h1": all["x-h1"] });
  });

  it("refuses header values that cannot go on the wire", () => {
    const e = new HpackEncoder();
    e.begin();
    expect(() => e.field("x-a", "line\r\nbreak", 0, false)).toThrow(TypeError);
    expect(() => e.field("x-a", "snow ☃", 0, false)).toThrow(TypeError);
  });
});
