import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, EtcdError, compare, connect, op, text } from "../../src/index.js";
import { type Session, createMutex, createSession } from "../../src/concurrency/index.js";
import { useEtcd } from "../harness/etcd.js";

const etcd = useEtcd();
let client: Client;
const clients: Client[] = [];
beforeAll(async () => {
  client = await connect({ endpoints: etcd.endpoints });
});
afterAll(() => {
  client?.close();
  for (const c of clients) c.close();
});

async function newClient(): Promise<Client> {
  const c = await connect({ endpoints: etcd.endpoints });
  clients.push(c);
  return c;
}
const revoke = (session: Session) => etcd.etcdctl(["lease", "revoke", session.lease.toString(16)]);
const keysUnder = async (prefix: string) => (await client.get(`${prefix}/`, { prefix: true, keysOnly: true })).kvs.map((kv) => text(kv.key));
const leaseExists = async (id: bigint) => (await client.lease.timeToLive(id)).ttl > 0;

describe("session", () => {
  it("grants a lease, keeps it alive, and revokes it on close", async () => {
    const session = await createSession(client, { ttl: 5 });
    expect(session.ttl).toBe(5);
    expect((await client.lease.timeToLive(session.lease)).grantedTtl).toBe(5);
    await client.put("s/k", "v", { lease: session.lease });
    await session.close();
    expect(await session.done).toBeUndefined();
    expect(await leaseExists(session.lease)).toBe(false);
    expect((await client.get("s/k")).count).toBe(0n);
    await session.close(); // twice is fine
  });

  it("reports a lost lease through done", async () => {
    const session = await createSession(client, { ttl: 3 });
    await revoke(session);
    const lost = await session.done;
    expect(lost).toBeInstanceOf(EtcdError);
    expect(lost?.kind).toBe("lease-not-found");
    await session.close(); // quiet: the lease is gone already
  });

  it("orphan stops renewing but keeps the lease; a new session takes it over", async () => {
    const first = await createSession(client, { ttl: 30 });
    first.orphan();
    expect(await first.done).toBeUndefined();
    expect(await leaseExists(first.lease)).toBe(true);
    const second = await createSession(client, { lease: first.lease });
    expect(second.lease).toBe(first.lease);
    expect(second.ttl).toBe(30);
    await second.close();
    expect(await leaseExists(first.lease)).toBe(false);
    await expect(createSession(client, { lease: first.lease })).rejects.toMatchObject({ kind: "lease-not-found" });
  });

  it("checks options and supports await using and a signal", async () => {
    await expect(createSession(client, { ttl: 0 })).rejects.toBeInstanceOf(RangeError);
    await expect(createSession(client, { ttl: 1.5 })).rejects.toBeInstanceOf(RangeError);
    await expect(createSession(client, { signal: AbortSignal.abort() })).rejects.toMatchObject({ kind: "canceled" });
    let id = 0n;
    {
      await using session = await createSession(client, { ttl: 10 });
      id = session.lease;
    }
    expect(await leaseExists(id)).toBe(false);
    const ac = new AbortController();
    const session = await createSession(client, { ttl: 10, signal: ac.signal });
    ac.abort();
    expect(await session.done).toBeUndefined();
    await session.close(); // aborted: left to expire, not revoked
    expect(await leaseExists(session.lease)).toBe(true);
    await client.lease.revoke(session.lease);
  });
});

describe("mutex", () => {
  it("serializes 20 clients incrementing a counter 50 times each, with no overlapping holders", async () => {
    const workers = 20;
    const rounds = 50;
    const holds: { worker: number; acquired: bigint; put: bigint; released: bigint }[] = [];
    await client.put("counter", "0");
    const started = Date.now();
    await Promise.all(
      Array.from({ length: workers }, async (_, worker) => {
        const c = await newClient();
        const session = await createSession(c, { ttl: 10 });
        const mutex = createMutex(session, "m/counter");
        for (let i = 0; i < rounds; i++) {
          const acquired = (await mutex.lock()).revision;
          expect(mutex.header?.revision).toBe(acquired);
          const n = Number(text((await c.get("counter")).kvs[0]!.value));
          const put = (await c.put("counter", String(n + 1))).header.revision;
          const released = (await mutex.unlock()).revision;
          holds.push({ worker, acquired, put, released });
        }
        await session.close();
      }),
    );
    const elapsed = Date.now() - started;
    expect(text((await client.get("counter")).kvs[0]!.value)).toBe(String(workers * rounds));
    expect(holds).toHaveLength(workers * rounds);
    holds.sort((a, b) => (a.put < b.put ? -1 : 1));
    for (let i = 0; i < holds.length; i++) {
      const h = holds[i]!;
      expect(h.acquired < h.put && h.put < h.released, `hold ${i}: ${JSON.stringify(h, (_, v) => (typeof v === "bigint" ? Number(v) : v))}`).toBe(true);
      const prev = holds[i - 1];
      if (prev) expect(prev.released <= h.acquired, `holder ${h.worker} acquired at ${h.acquired} before ${prev.worker} released at ${prev.released}`).toBe(true);
    }
    expect(await keysUnder("m/counter")).toEqual([]);
    console.log(`mutex: ${workers * rounds} lock/increment/unlock cycles by ${workers} clients in ${elapsed} ms`);
  }, 60000);

  it("hands the lock to the next waiter when the holder's session dies, and fences the old holder", async () => {
    const [a, b] = [await newClient(), await newClient()];
    const sa = await createSession(a, { ttl: 6 }); // its keeper notices the revoke within TTL/3
    const sb = await createSession(b, { ttl: 30 });
    const ma = createMutex(sa, "m/fence");
    const mb = createMutex(sb, "m/fence");
    await ma.lock();
    expect(ma.key).toBe(`m/fence/${sa.lease.toString(16)}`);
    const fenced = (m: typeof ma, value: string) =>
      client.txn({ compare: [m.isOwner()], success: [op.put("m/fenced", value)] }).then((r) => r.succeeded);
    expect(await fenced(ma, "a")).toBe(true);
    expect(await fenced(mb, "b")).toBe(false);

    let bLocked = false;
    const waiting = mb.lock().then(() => (bLocked = true));
    await expect.poll(() => keysUnder("m/fence")).toHaveLength(2);
    expect(bLocked).toBe(false);
    await revoke(sa);
    await waiting;
    expect(await fenced(ma, "a-late")).toBe(false);
    expect(await fenced(mb, "b")).toBe(true);
    expect(text((await client.get("m/fenced")).kvs[0]!.value)).toBe("b");
    expect((await sa.done)?.kind).toBe("lease-not-found");
    await mb.unlock();
    expect(await fenced(mb, "b-late")).toBe(false);
    await sb.close();
  });

  it("stops a waiter whose session dies with the lease error, and leaves the holder alone", async () => {
    const [a, c] = [await newClient(), await newClient()];
    const sa = await createSession(a, { ttl: 30 });
    const sc = await createSession(c, { ttl: 30 });
    const ma = createMutex(sa, "m/waiter");
    const mc = createMutex(sc, "m/waiter");
    await ma.lock();
    const waiting = mc.lock().catch((e: unknown) => e);
    await expect.poll(() => keysUnder("m/waiter")).toHaveLength(2);
    await revoke(sc);
    const err = await waiting;
    expect(err).toBeInstanceOf(EtcdError);
    expect((err as EtcdError).kind).toBe("lease-not-found");
    expect(mc.key).toBe("\0");
    expect((await client.txn({ compare: [ma.isOwner()] })).succeeded).toBe(true);
    expect(await keysUnder("m/waiter")).toEqual([ma.key]);

    // A waiter whose session is closed stops too.
    const sd = await createSession(c, { ttl: 30 });
    const md = createMutex(sd, "m/waiter");
    const closedWait = md.lock().catch((e: unknown) => e);
    await expect.poll(() => keysUnder("m/waiter")).toHaveLength(2);
    await sd.close();
    expect(await closedWait).toMatchObject({ kind: "closed" });
    await ma.unlock();
    await sa.close();
  });

  it("tryLock fails fast while the lock is held, and takes it when free", async () => {
    const [a, b] = [await newClient(), await newClient()];
    const sa = await createSession(a, { ttl: 30 });
    const sb = await createSession(b, { ttl: 30 });
    const ma = createMutex(sa, "m/try");
    const mb = createMutex(sb, "m/try");
    await ma.tryLock();
    const started = Date.now();
    const err = await mb.tryLock().catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(err).toBeInstanceOf(EtcdError);
    expect(err).toMatchObject({ kind: "locked", code: 9 });
    expect(await keysUnder("m/try")).toEqual([ma.key]);
    expect(mb.key).toBe("\0");
    // Locking again a held lock resolves at once.
    await ma.lock();
    await ma.unlock();
    await mb.tryLock();
    expect(await keysUnder("m/try")).toEqual([mb.key]);
    await mb.unlock();
    await Promise.all([sa.close(), sb.close()]);
  });

  it("stops waiting and removes its key when the signal aborts", async () => {
    const [a, b] = [await newClient(), await newClient()];
    const sa = await createSession(a, { ttl: 30 });
    const sb = await createSession(b, { ttl: 30 });
    const ma = createMutex(sa, "m/abort");
    const mb = createMutex(sb, "m/abort");
    await ma.lock();
    const ac = new AbortController();
    const waiting = mb.lock({ signal: ac.signal }).catch((e: unknown) => e);
    await expect.poll(() => keysUnder("m/abort")).toHaveLength(2);
    ac.abort();
    expect(await waiting).toMatchObject({ kind: "canceled" });
    expect(await keysUnder("m/abort")).toEqual([ma.key]);
    await expect(mb.lock({ signal: AbortSignal.timeout(300) })).rejects.toMatchObject({ kind: "deadline-exceeded" });
    expect(await keysUnder("m/abort")).toEqual([ma.key]);
    await ma.unlock();
    await Promise.all([sa.close(), sb.close()]);
  });

  it("waits for every earlier waiter, not only the holder (fair order)", async () => {
    const sessions = await Promise.all([0, 1, 2, 3].map(async () => createSession(await newClient(), { ttl: 30 })));
    const mutexes = sessions.map((s) => createMutex(s, "m/fair"));
    await mutexes[0]!.lock();
    const order: number[] = [];
    const waits: Promise<unknown>[] = [];
    for (const i of [1, 2, 3]) {
      const turn = mutexes[i]!.lock().then(async () => {
        order.push(i);
        await mutexes[i]!.unlock();
      });
      waits.push(turn.catch((e: unknown) => e));
      await expect.poll(() => keysUnder("m/fair")).toHaveLength(i + 1);
    }
    // The middle waiter leaves: the last one must still wait for the first.
    await revoke(sessions[2]!);
    expect(await waits[1]).toMatchObject({ kind: "lease-not-found" });
    expect(order).toEqual([]);
    await mutexes[0]!.unlock();
    expect(await Promise.all([waits[0], waits[2]])).toEqual([undefined, undefined]);
    expect(order).toEqual([1, 3]);
    expect(await keysUnder("m/fair")).toEqual([]);
    await Promise.all(sessions.map((s) => s.close()));
  });

  it("isOwner compares the lock key's create revision", async () => {
    const session = await createSession(client, { ttl: 30 });
    const m = createMutex(session, "m/own");
    expect((await client.txn({ compare: [m.isOwner()] })).succeeded).toBe(false);
    await m.lock();
    const kv = (await client.get(m.key)).kvs[0]!;
    expect(kv.lease).toBe(session.lease);
    expect(m.revision).toBe(kv.createRevision);
    expect(m.isOwner()).toEqual(compare.createRevision(m.key, "=", kv.createRevision));
    await m.unlock();
    expect(m.revision).toBe(-1n);
    await session.close();
  });
});
