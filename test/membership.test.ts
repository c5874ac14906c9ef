// Membership changes through the client: add a learner, start it, promote it,
// update its peer URLs, remove it, on a real 3-member cluster.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, EtcdError, connect } from "../src/index.js";
import { useEtcd } from "./harness/etcd.js";

const etcd = useEtcd({ size: 3 });
let client: Client;
beforeAll(async () => {
  client = await connect({ endpoints: etcd.endpoints });
});
afterAll(() => client?.close());

/** Runs `op`, retrying while etcd refuses for a passing reason (it wants members connected for 5 s first). */
async function settle<T>(op: () => Promise<T>, passing: string[]): Promise<T> {
  const deadline = Date.now() + 30000;
  for (;;) {
    try {
      return await op();
    } catch (err) {
      if (!passing.includes(EtcdError.from(err).kind) || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

describe("membership", () => {
  it("adds a learner, promotes it, updates and removes it; the member list follows every step", async () => {
    const joining = await etcd.cluster.prepareMember();
    const added = await settle(() => client.cluster.memberAdd([joining.peerUrl], { learner: true }), ["unhealthy-cluster"]);
    expect(added.member.isLearner).toBe(true);
    expect(added.member.name).toBe(""); // not started yet
    expect(added.member.peerURLs).toEqual([joining.peerUrl]);
    expect(added.members).toHaveLength(4);

    const initialCluster = added.members
      .map((m) => `${m.id === added.member.id ? joining.name : m.name}=${m.peerURLs[0]}`)
      .join(",");
    await joining.join(initialCluster);
    await expect
      .poll(async () => (await client.cluster.memberList()).members.find((m) => m.id === added.member.id)?.name, { timeout: 20000 })
      .toBe(joining.name);
    const listed = (await client.cluster.memberList()).members.find((m) => m.id === added.member.id)!;
    expect(listed).toMatchObject({ isLearner: true, clientURLs: [joining.clientUrl] });

    // A voter cannot be promoted; the learner can once it caught up.
    const voter = (await client.cluster.memberList()).members.find((m) => !m.isLearner)!;
    await expect(client.cluster.memberPromote(voter.id)).rejects.toMatchObject({ kind: "member-not-learner" });
    const promoted = await settle(() => client.cluster.memberPromote(added.member.id), ["learner-not-ready", "unhealthy-cluster"]);
    expect(promoted.members.find((m) => m.id === added.member.id)!.isLearner).toBe(false);

    // localhost and 127.0.0.1 reach the same listener: a real update that keeps the member working.
    const newPeer = joining.peerUrl.replace("127.0.0.1", "localhost");
    const updated = await settle(() => client.cluster.memberUpdate(added.member.id, [newPeer]), ["unhealthy-cluster"]);
    expect(updated.members.find((m) => m.id === added.member.id)!.peerURLs).toEqual([newPeer]);
    expect(await etcd.etcdctl(["member", "list"], { endpoints: etcd.endpoints.slice(0, 3) })).toContain(newPeer);

    await expect(settle(() => client.cluster.memberAdd([etcd.members[0]!.peerUrl]), ["unhealthy-cluster"])).rejects.toMatchObject({
      kind: "peer-url-exists",
    });
    const removed = await settle(() => client.cluster.memberRemove(added.member.id), ["unhealthy-cluster"]);
    expect(removed.members.map((m) => m.id)).not.toContain(added.member.id);
    expect(removed.members).toHaveLength(3);
    await expect.poll(() => joining.running, { timeout: 10000 }).toBe(false); // etcd stops itself once removed
    etcd.cluster.forget(joining);
    await expect(client.cluster.memberRemove(added.member.id)).rejects.toMatchObject({ kind: "member-not-found" });
    await expect(client.cluster.memberAdd(["not a url"])).rejects.toBeInstanceOf(TypeError);
  }, 90000);
});
