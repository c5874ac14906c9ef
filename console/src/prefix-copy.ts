// Copying or renaming every key under a prefix: paged reads at one revision, then txns that each write a batch only
// if its source keys are unchanged and its target keys do not exist.
import { compare, op, prefixEnd, type Client, type KeyValue, type Op } from "etcd-connect";
import { ConsoleError } from "./errors.js";
import { concat, displayKey, hasPrefix } from "./format.js";

/** Keys per txn: two compares per key (etcd allows 128 compares and 128 ops per txn by default). */
const BATCH_KEYS = 64;
/** Bytes of values per txn, well under etcd's default 1.5 MiB request limit. */
const BATCH_BYTES = 1024 * 1024;

/** Options of {@link copyPrefix}. */
export interface CopyPrefixOptions {
  /** Delete each source key in the txn that writes its copy. Default: false. */
  rename?: boolean;
  signal?: AbortSignal;
  /** Called after each txn with the keys written so far. */
  onProgress?(done: number): void;
}

/** What {@link copyPrefix} did. */
export interface CopyPrefixResult {
  /** Keys written under the target prefix (and, for a rename, deleted from the source). */
  copied: number;
  /** Txns it took. */
  txns: number;
}

/**
 * Copies every key under `from` to the same name under `to`, with its value and lease; with `rename`, the source keys
 * go in the same txns. Refused before anything is written when the prefixes overlap or a key exists under `to`. A
 * key changed (or a target created) while it runs stops it at that batch, which is not written; the error says how
 * many keys were done before.
 */
export async function copyPrefix(client: Client, from: Uint8Array, to: Uint8Array, options: CopyPrefixOptions = {}): Promise<CopyPrefixResult> {
  const { signal } = options;
  if (to.length === 0) throw new ConsoleError("empty-prefix", "Choose a target prefix.");
  if (hasPrefix(to, from) || hasPrefix(from, to)) {
    throw new ConsoleError("prefixes-overlap", `${displayKey(to)} and ${displayKey(from)} overlap: choose a target outside the source.`);
  }
  const existing = (await client.get(to, { end: prefixEnd(to), countOnly: true, signal })).count;
  if (existing > 0n) throw new ConsoleError("prefix-not-empty", `${existing} keys exist under ${displayKey(to)} already: choose an empty prefix.`);

  let copied = 0;
  let txns = 0;
  let revision: bigint | undefined;
  let after: Uint8Array = from;
  const end = prefixEnd(from);
  for (;;) {
    // One revision for the whole read, so the copy is of one moment of the source.
    const page = await client.get(after, { end, limit: BATCH_KEYS, revision, signal });
    revision ??= page.header.revision;
    const kvs = page.kvs;
    for (let i = 0; i < kvs.length; ) {
      const batch: KeyValue[] = [];
      let bytes = 0;
      while (i < kvs.length && (batch.length === 0 || bytes + kvs[i]!.value.length <= BATCH_BYTES)) {
        bytes += kvs[i]!.value.length + kvs[i]!.key.length;
        batch.push(kvs[i++]!);
      }
      await writeBatch(client, batch, from, to, options.rename ?? false, signal, copied);
      copied += batch.length;
      txns++;
      options.onProgress?.(copied);
    }
    if (!page.more || kvs.length === 0) break;
    after = concat(kvs.at(-1)!.key, new Uint8Array([0]));
  }
  return { copied, txns };
}

async function writeBatch(client: Client, batch: KeyValue[], from: Uint8Array, to: Uint8Array, rename: boolean, signal: AbortSignal | undefined, done: number): Promise<void> {
  const target = (kv: KeyValue) => concat(to, kv.key.subarray(from.length));
  const success: Op[] = [];
  for (const kv of batch) {
    success.push(op.put(target(kv), kv.value, kv.lease === 0n ? {} : { lease: kv.lease }));
    if (rename) success.push(op.delete(kv.key));
  }
  const r = await client.txn({
    compare: batch.flatMap((kv) => [compare.modRevision(kv.key, "=", kv.modRevision), compare.createRevision(target(kv), "=", 0n)]),
    success,
  }, { signal });
  if (!r.succeeded) {
    throw new ConsoleError(
      "key-changed",
      `Stopped after ${done} keys: a key from ${displayKey(batch[0]!.key)} to ${displayKey(batch.at(-1)!.key)} changed, or a target key was created, while copying. Those keys were not written.`,
    );
  }
}
