import { afterAll, describe, expect, it } from "vitest";
import { type Client, connect, op, text } from "../../src/index.js";
import { type Election, type Session, createElection, createSession } from "../../src/concurrency/index.js";
import { useEtcd } from "../harness/etcd.js";

const etcd = useEtcd({ size: 3 });
const clients: Client[] = [];
afterAll(() => {
  for (const c of clients) c.close();
});

/** A client that talks to member `i` first and fails over to the others. */
async function clientOn(i: number): Promise<Client> {
  const urls = etcd.members.map((m) => m.clientUrl);
  const c = await connect({ endpoints: [urls[i]!] });
  clients.push(c);
  c.setEndpoints([...urls.slice(i), ...urls.slice(0, i)]);
  return c;
}

describe("election on a 3-member cluster", () => {
  it("keeps exactly one leader when the members campaigners use are restarted", async () => {
    const prefix = "ec/restart";
    const observerClient = await clientOn(0);
    const observed: string[] = [];
    const ac = new AbortController();
    const observerSession = await createSession(observerClient, { ttl: 10 });
    const observing = (async () => {
      for await (const l of createElection(observerSession, prefix).observe({ signal: ac.signal })) observed.push(text(l.value));
    })();

    const sessions: Session[] = [];
    const elections: Election[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await createSession(await clientOn(i), { ttl: 10 });
      sessions.push(s);
      elections.push(createElection(s, prefix));
    }
    const winners: number[] = [];
    const campaigns = elections.map((e, i) =>
      e.campaign(`c${i}`).then(
        () => void winners.push(i),
        (err: unknown) => err,
      ),
    );
    const candidates = async () => (await observerClient.get(`${prefix}/`, { prefix: true, countOnly: true })).count;
    await expect.poll(candidates).toBe(3n);
    await expect.poll(() => winners.length).toBe(1);

    /** Exactly one campaigner can make a write fenced by isLeader(), and every client reads it as the leader. */
    const expectOneLeader = async (leader: number, round: string) => {
      const fenced = await Promise.all(
        elections.map((e, i) =>
          sessions[i]!.client.txn({ compare: e.isLeader(), success: [op.put(`ec/log/${round}/${i}`, "x")] }, { retry: true }).then((r) => r.succeeded),
        ),
      );
      expect(fenced).toEqual(elections.map((_, i) => i === leader));
      for (const s of sessions) expect(text((await createElection(s, prefix).leader())!.key)).toBe(elections[leader]!.key);
    };

    // Restart the member the leader's client uses: it fails over, keeps its lease, and stays the only leader.
    const first = winners[0]!;
    await expectOneLeader(first, "before");
    await etcd.member(first).kill();
    await etcd.member(first).start();
    await etcd.cluster.waitHealthy();
    await expectOneLeader(first, "after-leader-restart");
    expect(winners).toEqual([first]);

    // Restart the member a waiting campaigner uses: its wait resumes on another member and misses nothing.
    const waiting = [0, 1, 2].filter((i) => i !== first);
    const waiter = waiting[0]!;
    await etcd.member(waiter).kill();
    await etcd.member(waiter).start();
    await etcd.cluster.waitHealthy();
    await expectOneLeader(first, "after-waiter-restart");

    // Hand over twice: each time exactly one campaigner wins, in campaign order.
    await elections[first]!.resign();
    await expect.poll(() => winners.length, { timeout: 10000 }).toBe(2);
    const second = winners[1]!;
    expect(waiting).toContain(second);
    await expectOneLeader(second, "second");
    await elections[second]!.resign();
    await expect.poll(() => winners.length, { timeout: 10000 }).toBe(3);
    const third = winners[2]!;
    await expectOneLeader(third, "third");
    await elections[third]!.resign();
    expect(await Promise.all(campaigns)).toEqual([undefined, undefined, undefined]);

    await expect.poll(() => observed).toEqual(winners.map((i) => `c${i}`));
    ac.abort();
    await observing;
    for (const s of sessions) {
      expect(await Promise.race([s.done, Promise.resolve("alive")])).toBe("alive");
      await s.close();
    }
    await observerSession.close();
  }, 60000);
});
