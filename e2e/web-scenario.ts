// What each runtime without a browser runs on the package's web entry (gRPC-Web over fetch, through the proxy):
// KV, a txn, a short watch and errors with their kinds. Run by e2e/bun/main.ts and e2e/edge-runtime/worker.ts, each
// handing in the entry it imported; the result is plain JSON for the test to compare.
import type * as WebEntry from "etcd-connect/web";

/** What the scenario uses of an entry (the web entry's, or the default import's where that picks the web entry). */
export type ScenarioEntry = Pick<typeof WebEntry, "connect" | "text" | "compare" | "op" | "EtcdError">;

/** The scenario's outcome: strings and booleans only, so it crosses a process boundary as JSON. */
export interface WebScenarioResult {
  /** "web" when the runtime got the web entry (it has no `createNodeTransport`). */
  entry: string;
  value: string;
  succeeded: boolean;
  afterSwap: string;
  events: string[];
  errors: { future: string; lease: string; empty: string };
  deleted: string;
}

/** Runs the scenario with the entry `etcd` against `proxyUrl`, under keys `<prefix>/`. */
export async function webScenario(etcd: ScenarioEntry, proxyUrl: string, prefix: string): Promise<WebScenarioResult> {
  const { connect, text, compare, op } = etcd;
  const entry = "createNodeTransport" in etcd ? "node" : "web";
  const client = await connect({ endpoints: [proxyUrl], dialTimeoutMs: 5000 });
  try {
    const hello = `hello from ${prefix}`;
    const put = await client.put(`${prefix}/k`, hello);
    const got = await client.get(`${prefix}/k`);
    const txn = await client.txn({
      compare: [compare.value(`${prefix}/k`, "=", hello)],
      success: [op.put(`${prefix}/k`, "swapped"), op.get(`${prefix}/k`)],
    });
    const swapped = txn.responses[1];
    const afterSwap = swapped?.type === "get" ? text(swapped.response.kvs[0]!.value) : `not a get: ${swapped?.type}`;

    const events: string[] = [];
    for await (const r of client.watch(`${prefix}/w`, { createdNotify: true })) {
      if (r.created) {
        await client.put(`${prefix}/w`, "watched");
        continue;
      }
      for (const e of r.events) events.push(`${e.type} ${text(e.kv.key)}=${text(e.kv.value)}`);
      break; // cancels the watch on etcd
    }

    const kind = (e: unknown) => (e instanceof etcd.EtcdError ? `${e.name}:${e.kind}:${e.code}` : `not an EtcdError: ${String(e)}`);
    const errors = {
      future: await client.get(`${prefix}/k`, { revision: put.header.revision + 1000n }).then(() => "no error", kind),
      lease: await client.put(`${prefix}/k`, "x", { lease: 0x4242n }).then(() => "no error", kind),
      empty: await client.get("").then(() => "no error", kind), // refused before sending
    };
    const deleted = await client.delete(`${prefix}/`, { prefix: true });
    return { entry, value: text(got.kvs[0]!.value), succeeded: txn.succeeded, afterSwap, events, errors, deleted: String(deleted.deleted) };
  } finally {
    client.close();
  }
}

/** What `webScenario(etcd, proxyUrl, prefix)` returns when everything works. */
export function expectedWebScenario(prefix: string): WebScenarioResult {
  return {
    entry: "web",
    value: `hello from ${prefix}`,
    succeeded: true,
    afterSwap: "swapped",
    events: [`put ${prefix}/w=watched`],
    errors: { future: "EtcdError:future-revision:11", lease: "EtcdError:lease-not-found:5", empty: "EtcdError:empty-key:3" },
    deleted: "2",
  };
}
