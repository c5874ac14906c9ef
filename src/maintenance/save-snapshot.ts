import { createHash } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { Code } from "@connectrpc/connect";
import { EtcdError } from "../errors.js";
import type { Maintenance } from "./maintenance.js";

/** Options of {@link saveSnapshot}. */
export interface SaveSnapshotOptions {
  /** Aborting it stops the download and removes the partial file. */
  signal?: AbortSignal;
  /** Called after each chunk with the bytes written so far. */
  onProgress?: (bytes: number) => void;
}

/** The SHA-256 etcd appends to a snapshot. */
const HASH_BYTES = 32;

/**
 * Writes a snapshot of the backend to `path` (Node only). It is written to
 * `<path>.part` and renamed to `path` only once complete and verified (the
 * SHA-256 etcd appends matches), so an aborted or broken download never
 * leaves a file that looks like a snapshot. Resolves with the byte count.
 */
export async function saveSnapshot(
  client: { maintenance: Maintenance },
  path: string,
  options: SaveSnapshotOptions = {},
): Promise<{
  /** Size of the saved snapshot file in bytes (its trailing SHA-256 included). */
  bytes: number;
}> {
  const partial = `${path}.part`;
  const file = await open(partial, "w");
  const hash = createHash("sha256");
  // The last 32 bytes seen are the candidate checksum; everything before them is hashed.
  let tail = new Uint8Array(0);
  let bytes = 0;
  let complete = false;
  try {
    for await (const chunk of client.maintenance.snapshot({ signal: options.signal })) {
      await file.write(chunk);
      bytes += chunk.length;
      const joined = concat(tail, chunk);
      const cut = Math.max(0, joined.length - HASH_BYTES);
      hash.update(joined.subarray(0, cut));
      tail = joined.slice(cut);
      options.onProgress?.(bytes);
    }
    // Aborted after the last chunk but before completion: still no file.
    if (options.signal?.aborted) throw EtcdError.aborted(options.signal);
    if (tail.length !== HASH_BYTES || !equal(new Uint8Array(hash.digest()), tail)) {
      throw new EtcdError("corrupt-cluster", Code.DataLoss, `snapshot checksum mismatch after ${bytes} bytes`);
    }
    await file.sync();
    complete = true;
  } finally {
    await file.close();
    if (complete) await rename(partial, path);
    else await rm(partial, { force: true });
  }
  return { bytes };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
