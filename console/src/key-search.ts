// Finding keys by substring: paged range scans over a prefix (or everything), keys only unless values are searched.
import { prefixEnd, type Client } from "etcd-connect";
import { concat, displayKey } from "./format.js";

/** Values are searched as text, leniently: a value cut at the cap may end inside a character. */
const lenient = new TextDecoder();

/** Options of {@link searchKeys}. */
export interface SearchOptions {
  /** Search under this prefix; empty: every key. */
  prefix: Uint8Array;
  /** Text to find in keys (and values with `values`), case-insensitive. */
  text: string;
  /** Search values too; each value is fetched, and only its first `valueCap` bytes are searched. Default: false. */
  values?: boolean;
  /** Bytes of each value searched. Default: 64 KiB. */
  valueCap?: number;
  /** Keys per range call. Default: 1000 (keys only), 100 with values. */
  pageSize?: number;
  /** Stop after this many matches. Default: 500. */
  maxMatches?: number;
  signal?: AbortSignal;
  /** Called after each page: keys scanned so far and matches so far. */
  onProgress?(scanned: number, matches: number): void;
}

/** One matching key. */
export interface SearchMatch {
  key: Uint8Array;
  /** Where the text was found. */
  in: "key" | "value";
}

/** The outcome of {@link searchKeys}. */
export interface SearchResult {
  matches: SearchMatch[];
  scanned: number;
  /** Stopped at `maxMatches` before the end of the range. */
  truncated: boolean;
  /** Calls made. */
  requests: number;
}

/**
 * Scans the range page by page (keys only, `limit`), each page starting after the last key of the one before, all
 * at the revision of the first page, so a search sees one consistent keyspace however long it runs.
 */
export async function searchKeys(client: Client, options: SearchOptions): Promise<SearchResult> {
  const needle = options.text.toLowerCase();
  const values = options.values === true;
  const cap = options.valueCap ?? 64 * 1024;
  const pageSize = options.pageSize ?? (values ? 100 : 1000);
  const maxMatches = options.maxMatches ?? 500;
  const prefix = options.prefix;
  const end = prefix.length > 0 ? prefixEnd(prefix) : new Uint8Array([0]);
  let from = prefix.length > 0 ? prefix : new Uint8Array([0]);
  let revision: bigint | undefined;
  const matches: SearchMatch[] = [];
  let scanned = 0;
  let requests = 0;
  for (;;) {
    const r = await client.get(from, { end, limit: pageSize, keysOnly: !values, revision, signal: options.signal });
    requests++;
    revision ??= r.header.revision;
    for (const kv of r.kvs) {
      scanned++;
      if (displayKey(kv.key).toLowerCase().includes(needle)) matches.push({ key: kv.key, in: "key" });
      else if (values && lenient.decode(kv.value.subarray(0, cap)).toLowerCase().includes(needle)) matches.push({ key: kv.key, in: "value" });
      if (matches.length >= maxMatches) {
        options.onProgress?.(scanned, matches.length);
        return { matches, scanned, truncated: true, requests };
      }
    }
    options.onProgress?.(scanned, matches.length);
    const last = r.kvs.at(-1);
    if (!r.more || last === undefined) return { matches, scanned, truncated: false, requests };
    from = concat(last.key, new Uint8Array([0]));
  }
}
