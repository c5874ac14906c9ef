import { HUFFMAN_CODES, HUFFMAN_LENGTHS } from "./hpack-tables.js";

/**
 * The Huffman code as a binary tree in one typed array: node `n` has its
 * 0-child at `2n` and its 1-child at `2n + 1`; a child is another node
 * (positive), a symbol (`-1 - byte`), or 0 (no code: a decoding error).
 */
const tree = buildTree();

function buildTree(): Int32Array {
  // 256 codes of up to 30 bits need fewer than 256 * 2 inner nodes.
  const nodes = new Int32Array(2 * 512);
  let next = 1;
  for (let sym = 0; sym < 256; sym++) {
    const code = HUFFMAN_CODES[sym]!;
    const len = HUFFMAN_LENGTHS[sym]!;
    let node = 0;
    for (let bit = len - 1; bit >= 0; bit--) {
      const slot = 2 * node + ((code >>> bit) & 1);
      if (bit === 0) nodes[slot] = -1 - sym;
      else node = nodes[slot] || (nodes[slot] = next++);
    }
  }
  return nodes;
}

/**
 * Decodes a Huffman-coded HPACK string (RFC 7541 5.2) to a latin1 string.
 * Throws on an invalid code or padding that is not a prefix of EOS.
 */
export function huffmanDecode(buf: Uint8Array, start: number, end: number): string {
  let out = "";
  let node = 0;
  // Bits walked since the last symbol, and whether they were all ones (valid padding).
  let depth = 0;
  let allOnes = true;
  for (let i = start; i < end; i++) {
    const byte = buf[i]!;
    for (let bit = 7; bit >= 0; bit--) {
      const b = (byte >>> bit) & 1;
      const child = tree[2 * node + b]!;
      if (child === 0) throw new Error("invalid HPACK Huffman code");
      if (child < 0) {
        out += String.fromCharCode(-1 - child);
        node = 0;
        depth = 0;
        allOnes = true;
      } else {
        node = child;
        depth++;
        if (b === 0) allOnes = false;
      }
    }
  }
  if (depth > 7 || !allOnes) throw new Error("invalid HPACK Huffman padding");
  return out;
}
