import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, EtcdError, connect, op, text } from "../../src/index.js";
import {
  type Election,
  type Leader,
  type Session,
  createElection,
  createSession,
  resumeElection,
} from "../../src/concurrency/index.js";
import { useEtcd } from "../harness/etcd.js";

const etcd = useEtcd();
let client: Client;
let session: Session;
const clients: Client[] = [];
beforeAll(async () => {
  client = await connect({ endpoints: etcd.endpoints });
  session = await createSession(client, { ttl: 30 });
});
afterAll(async () => {
  await session?.close();
  client?.close();
  for (const c of clients) c.close();
});

async function newSession(ttl = 30): Promise<Session> {
  const c = await connect({ endpoints: etcd.endpoints });
  clients.push(c);
  return createSession(c, { ttl });
}
const revoke = (s: Session) => etcd.etcdctl(["lease", "revoke", s.lease.toString(16)]);
const candidates = async (prefix: string) => (await client.get(`${prefix}/`, { prefix: true, keysOnly: true })).count;

/** Collects what observe() yields, in the background. */
function observeAll(election: Election) {
  const ac = new AbortController();
  const seen: Leader[] = [];
  const ended = (async () => {
    for await (const leader of election.observe({ signal: ac.signal })) seen.push(leader);
  })();
  return { seen, values: () => seen.map((l) => text(l.value)), stop: () => (ac.abort(), ended) };
}

/** A write that only the current leader can make. */
const fencedPut = (e: Election, key: string, value: string) =>
  client.txn({ compare: e.isLeader(), success: [op.put(key, value)] }).then((r) => r.succeeded);

describe("election", () => {
  it("has exactly one leader at a time among 5 campaigners, and observe sees every change in order", async () => {
    // A first leader, seen by the observer, makes the observed history start at a known point.
    const first = createElection(session, "e/five");
    await first.campaign("init");
    const observer = observeAll(first);
    await expect.poll(observer.values).toEqual(["init"]);
    await first.resign();
    const workers = 5;
    const rounds = 2;
    let leaders = 0;
    let maxLeaders = 0;
    const terms: string[] = [];
    const started = Date.now();
    await Promise.all(
      Array.from({ length: workers }, async (_, i) => {
        const s = await newSession();
        const e = createElection(s, "e/five");
        for (let round = 0; round < rounds; round++) {
          const term = `c${i}-r${round}`;
          await e.campaign(term);
          maxLeaders = Math.max(maxLeaders, ++leaders);
          terms.push(term);
          expect(await fencedPut(e, `leader-log/${term}/0-start`, term)).toBe(true);
          for (let n = 1; n <= 3; n++) expect(await fencedPut(e, `leader-log/${term}/${n}`, term)).toBe(true);
          await e.proclaim(`${term}-p`);
          expect(await fencedPut(e, `leader-log/${term}/9-end`, term)).toBe(true);
          leaders--;
          await e.resign();
          expect(await fencedPut(e, `leader-log/${term}/late`, term)).toBe(false);
        }
        await s.close();
      }),
    );
    expect(maxLeaders).toBe(1);
    expect(terms).toHaveLength(workers * rounds);

    // The log, in revision order, is one block per term: start, 1, 2, 3, end.
    const log = (await client.get("leader-log/", { prefix: true, sort: { target: "mod", order: "ascend" } })).kvs;
    expect(log).toHaveLength(workers * rounds * 5);
    const blocks = log.map((kv) => text(kv.key).split("/").slice(1).join("/"));
    const expected = terms.flatMap((t) => ["0-start", "1", "2", "3", "9-end"].map((n) => `${t}/${n}`));
    expect(blocks).toEqual(expected);

    // observe() saw each leader, then its proclaimed value, in the same order.
    const changes = ["init", ...terms.flatMap((t) => [t, `${t}-p`])];
    await expect.poll(observer.values, { timeout: 10000 }).toEqual(changes);
    const revisions = observer.seen.map((l) => l.header.revision);
    expect([...revisions].sort((a, b) => (a < b ? -1 : 1))).toEqual(revisions);
    await observer.stop();
    expect(await candidates("e/five")).toBe(0n);
    console.log(`election: ${workers * rounds} terms by ${workers} campaigners in ${Date.now() - started} ms`);
  });

  it("elects another campaigner when the leader's session dies, and deposes the old leader", async () => {
    const [sa, sb] = [await newSession(6), await newSession()];
    const a = createElection(sa, "e/revoke");
    const b = createElection(sb, "e/revoke");
    const observer = observeAll(createElection(session, "e/revoke"));
    await a.campaign("a");
    expect(text((await a.leader())!.value)).toBe("a");
    let bLeads = false;
    const bWon = b.campaign("b").then(() => (bLeads = true), (e: unknown) => e);
    await expect.poll(() => candidates("e/revoke")).toBe(2n);
    expect(bLeads).toBe(false);
    expect(await fencedPut(b, "e/fenced", "b-early")).toBe(false);

    await revoke(sa);
    expect(await bWon).toBe(true);
    const leader = (await b.leader())!;
    expect(text(leader.value)).toBe("b");
    expect(text(leader.key)).toBe(b.key);
    expect(leader.lease).toBe(sb.lease);
    expect(leader.createRevision).toBe(b.revision);
    expect(await fencedPut(a, "e/fenced", "a-late")).toBe(false);
    expect(await fencedPut(b, "e/fenced", "b")).toBe(true);
    await expect(a.proclaim("a-again")).rejects.toMatchObject({ kind: "not-leader" });
    expect(a.key).toBe("");
    expect((await sa.done)?.kind).toBe("lease-not-found");
    await expect.poll(observer.values).toEqual(["a", "b"]);
    await b.resign();
    expect(await b.leader()).toBeUndefined();
    await observer.stop();
    await sb.close();
  });

  it("stops a campaigner whose session dies with the lease error", async () => {
    const [sa, sc] = [await newSession(), await newSession()];
    const a = createElection(sa, "e/waiter");
    const c = createElection(sc, "e/waiter");
    await a.campaign("a");
    const waiting = c.campaign("c").catch((e: unknown) => e);
    await expect.poll(() => candidates("e/waiter")).toBe(2n);
    await revoke(sc);
    const err = await waiting;
    expect(err).toBeInstanceOf(EtcdError);
    expect((err as EtcdError).kind).toBe("lease-not-found");
    await expect(c.proclaim("c")).rejects.toMatchObject({ kind: "not-leader" });
    expect(text((await a.leader())!.value)).toBe("a");
    await a.resign();
    await sa.close();
  });

  it("withdraws a candidacy when the signal aborts", async () => {
    const [sa, sb] = [await newSession(), await newSession()];
    const a = createElection(sa, "e/abort");
    const b = createElection(sb, "e/abort");
    await a.campaign("a");
    const ac = new AbortController();
    const waiting = b.campaign("b", { signal: ac.signal }).catch((e: unknown) => e);
    await expect.poll(() => candidates("e/abort")).toBe(2n);
    ac.abort();
    expect(await waiting).toMatchObject({ kind: "canceled" });
    expect(await candidates("e/abort")).toBe(1n);
    await a.resign();
    await Promise.all([sa.close(), sb.close()]);
  });

  it("refuses proclaim by a non-leader with not-leader; leader() is undefined without candidates", async () => {
    const s = await newSession();
    const e = createElection(s, "e/none");
    expect(await e.leader()).toBeUndefined();
    await expect(e.proclaim("x")).rejects.toMatchObject({ kind: "not-leader", code: 9 });
    await e.resign(); // no-op
    await e.campaign("v1");
    await e.campaign("v2"); // campaigning again reuses the key and proclaims the new value
    expect(text((await e.leader())!.value)).toBe("v2");
    await e.resign();
    await expect(e.proclaim("x")).rejects.toMatchObject({ kind: "not-leader" });
    expect(await e.leader()).toBeUndefined();
    await s.close();
  });

  it("resumes an election as the existing leader (resumeElection)", async () => {
    const s1 = await newSession(30);
    const e1 = createElection(s1, "e/resume");
    await e1.campaign("first");
    const { key, revision } = e1;
    // The process "restarts": it stops renewing, and a new client takes the lease over.
    s1.orphan();
    const s2 = await newSession(30);
    const taken = await createSession(s2.client, { lease: s1.lease });
    const e2 = resumeElection(taken, "e/resume", key, revision);
    expect(e2.key).toBe(key);
    await e2.proclaim("resumed");
    const leader = (await e2.leader())!;
    expect(text(leader.value)).toBe("resumed");
    expect(leader.createRevision).toBe(revision);
    expect(await fencedPut(e2, "e/resume-fenced", "ok")).toBe(true);

    // A resumed election with a stale revision is not the leader.
    const stale = resumeElection(taken, "e/resume", key, revision - 1n);
    await expect(stale.proclaim("stale")).rejects.toMatchObject({ kind: "not-leader" });

    await e2.resign();
    expect(await e2.leader()).toBeUndefined();
    await Promise.all([taken.close(), s2.close()]);
  });
});
