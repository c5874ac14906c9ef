// Lazy listing of a key prefix as a tree: the children of one level, one page at a time.
import { prefixEnd, type Client } from "etcd-connect";
import { compareBytes, concat } from "./format.js";

/** One child of a listed level: a key, or a "directory" (a deeper prefix ending in the delimiter). */
export interface TreeEntry {
  kind: "key" | "dir";
  /** The full key, or the full prefix of a directory (ending in the delimiter). */
  key: Uint8Array;
  /** The part after the listed prefix (for a directory, up to and including the delimiter). */
  name: Uint8Array;
}

/** One page of a level. */
export interface TreePage {
  entries: TreeEntry[];
  /** Where the next page starts (pass as `after`), or undefined when the level is complete. */
  cursor: Uint8Array | undefined;
  /** Range calls made for this page. */
  requests: number;
}

/** Options of {@link listLevel}. */
export interface ListLevelOptions {
  /** Separator of key segments. Default: `/`. */
  delimiter?: number;
  /** Entries per page. Default: 100. */
  pageSize?: number;
  /** Continue from this cursor (from the previous page). Default: the start of the level. */
  after?: Uint8Array;
  /** Most range calls for one page; the page ends early (with a cursor) after that many. Default: 101. */
  maxRequests?: number;
  signal?: AbortSignal;
}

const SLASH = 0x2f;

/**
 * Lists the direct children of `prefix`: keys with no further delimiter, and one entry per deeper prefix.
 * Each range call fetches keys only (`keysOnly`, `limit`) and a directory's keys are skipped by jumping past its
 * prefix, so a page costs one call for its plain keys plus about one per directory, whatever the number of keys
 * inside the directories.
 */
export async function listLevel(client: Client, prefix: Uint8Array, options: ListLevelOptions = {}): Promise<TreePage> {
  const delimiter = options.delimiter ?? SLASH;
  const pageSize = options.pageSize ?? 100;
  const maxRequests = options.maxRequests ?? 101;
  const end = prefixEnd(prefix);
  const entries: TreeEntry[] = [];
  // etcd has no empty key: the root level starts at "\0", the smallest key.
  let from = options.after ?? (prefix.length > 0 ? prefix : new Uint8Array([0]));
  let requests = 0;
  while (requests < maxRequests) {
    // One more than needed, so the page knows whether the level goes on.
    const limit = pageSize - entries.length + 1;
    const r = await client.get(from, { end, limit, keysOnly: true, signal: options.signal });
    requests++;
    // Keys before this one are inside a directory already listed.
    let skipUntil: Uint8Array | undefined;
    for (const { key } of r.kvs) {
      if (skipUntil !== undefined && compareBytes(key, skipUntil) < 0) continue;
      if (entries.length === pageSize) return { entries, cursor: key, requests };
      const at = key.indexOf(delimiter, prefix.length);
      if (at < 0) {
        entries.push({ kind: "key", key, name: key.subarray(prefix.length) });
        continue;
      }
      const dir = key.slice(0, at + 1);
      entries.push({ kind: "dir", key: dir, name: dir.subarray(prefix.length) });
      skipUntil = prefixEnd(dir);
      // Only a directory of 0xff bytes has no end ("\0"): everything after it is inside it.
      if (skipUntil.length === 1 && skipUntil[0] === 0) return { entries, cursor: undefined, requests };
    }
    const last = r.kvs.at(-1);
    if (!r.more || last === undefined) return { entries, cursor: undefined, requests };
    from = concat(last.key, new Uint8Array([0]));
    if (skipUntil !== undefined && compareBytes(skipUntil, from) > 0) from = skipUntil;
  }
  return { entries, cursor: from, requests };
}
