import { describe, expect, it } from "vitest";
import { FrameReader, framePrefix, wholeFrame } from "../../src/transport/grpc-frames.js";

const bytes = (...b: number[]) => new Uint8Array(b);
const encodeFrame = (m: Uint8Array) => new Uint8Array([...framePrefix(m.length), ...m]);

describe("gRPC frames", () => {
  it("encodes the flag and big-endian length", () => {
    expect(framePrefix(3)).toEqual(bytes(0, 0, 0, 0, 3));
    expect([...framePrefix(70000)]).toEqual([0, 0, 0x01, 0x11, 0x70]); // 70000 = 0x011170
  });

  it("reads frames split anywhere across chunks, and several in one chunk", () => {
    const stream = new Uint8Array([...encodeFrame(bytes(1, 2, 3)), ...encodeFrame(bytes()), ...encodeFrame(new Uint8Array(300).fill(9))]);
    for (let cut1 = 0; cut1 <= stream.length; cut1 += 7) {
      for (let cut2 = cut1; cut2 <= stream.length; cut2 += 13) {
        const r = new FrameReader(1024);
        const out: Uint8Array[] = [];
        for (const chunk of [stream.subarray(0, cut1), stream.subarray(cut1, cut2), stream.subarray(cut2)]) {
          r.push(chunk);
          for (let m = r.next(); m !== undefined; m = r.next()) out.push(m);
        }
        expect(out.map((m) => m.length)).toEqual([3, 0, 300]);
        expect(out[0]).toEqual(bytes(1, 2, 3));
        expect(out[2]!.every((b) => b === 9)).toBe(true);
        expect(r.pending).toBe(0);
      }
    }
  });

  it("returns a frame inside one chunk as a view, without copying", () => {
    const chunk = encodeFrame(bytes(5, 6));
    const r = new FrameReader(10);
    r.push(chunk);
    const m = r.next()!;
    expect(m.buffer).toBe(chunk.buffer);
  });

  it("takes a chunk that is exactly one frame without a reader, and leaves everything else to the reader", () => {
    const one = encodeFrame(bytes(1, 2, 3));
    expect(wholeFrame(one, 10)).toEqual(bytes(1, 2, 3));
    expect(wholeFrame(one, 10)!.buffer).toBe(one.buffer);
    expect(wholeFrame(encodeFrame(bytes()), 10)).toEqual(bytes());
    expect(wholeFrame(one.subarray(0, 6), 10)).toBeUndefined(); // partial
    expect(wholeFrame(new Uint8Array([...one, ...one]), 10)).toBeUndefined(); // two frames
    expect(wholeFrame(bytes(1, 0, 0, 0, 1, 0), 10)).toBeUndefined(); // compressed
    expect(wholeFrame(one, 2)).toBeUndefined(); // over the limit
  });

  it("refuses compressed frames and frames over the limit", () => {
    const r = new FrameReader(10);
    r.push(bytes(1, 0, 0, 0, 1, 0));
    expect(() => r.next()).toThrow(expect.objectContaining({ code: "compressed" }));
    const big = new FrameReader(10);
    big.push(bytes(0, 0, 0, 0, 11));
    expect(() => big.next()).toThrow(expect.objectContaining({ code: "too-large" }));
  });
});
