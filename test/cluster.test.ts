import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, EtcdError, connect } from "../src/index.js";
import { etcdAtLeast, useEtcd } from "./harness/etcd.js";

const etcd = useEtcd({ size: 3 });
let client: Client;
beforeAll(async () => {
  client = await connect({ endpoints: etcd.endpoints });
});
afterAll(() => client?.close());

/** etcdctl JSON with 64-bit IDs kept exact. */
async function ctlJson(args: string[], endpoints?: string[]): Promise<any> {
  const out = await etcd.etcdctl([...args, "-w", "json"], endpoints ? { endpoints } : {});
  return JSON.parse(out.replace(/:(\d{16,})/g, ':"$1"'));
}

describe("cluster.memberList", () => {
  it("lists every member with IDs, names and URLs that match etcdctl", async () => {
    const list = await client.cluster.memberList();
    const ctl = await ctlJson(["member", "list"]);
    expect(list.members).toHaveLength(3);
    expect(list.header.clusterId).toBe(BigInt(ctl.header.cluster_id));
    expect(typeof list.header.raftTerm).toBe("bigint");
    const byId = new Map(ctl.members.map((m: { ID: string }) => [BigInt(m.ID), m]));
    for (const m of list.members) {
      const c = byId.get(m.id) as { name: string; peerURLs: string[]; clientURLs: string[] };
      expect(c).toBeDefined();
      expect(m.name).toBe(c.name);
      expect(m.peerURLs).toEqual(c.peerURLs);
      expect(m.clientURLs).toEqual(c.clientURLs);
      expect(m.isLearner).toBe(false);
    }
    expect(list.members.map((m) => m.clientURLs[0]).sort()).toEqual([...etcd.endpoints].sort());
    expect(Object.keys(list.members[0]!).sort()).toEqual(["clientURLs", "id", "isLearner", "name", "peerURLs"]);
  });

  it("answers serializable requests too", async () => {
    const list = await client.cluster.memberList({ serializable: true });
    expect(list.members).toHaveLength(3);
  });
});

describe("no-leader", () => {
  it("maps a member without quorum to no-leader when the leader is required", async () => {
    const [keep, ...others] = etcd.members;
    const c = await connect({ endpoints: [keep!.clientUrl], requireLeader: true });
    const perCall = await connect({ endpoints: [keep!.clientUrl] });
    try {
      for (const m of others) await m.stop();
      // The remaining member notices the lost quorum after an election timeout.
      await expect
        .poll(async () => c.get("nl", { serializable: true, timeoutMs: 2000 }).then(() => "served", (e: EtcdError) => e.kind), {
          timeout: 20000,
          interval: 200,
        })
        .toBe("no-leader");
      // The same per call, on a client without the default.
      await expect(perCall.get("nl", { serializable: true, requireLeader: true, timeoutMs: 1000 })).rejects.toMatchObject({ kind: "no-leader" });
      expect((await perCall.get("nl", { serializable: true, timeoutMs: 1000 })).count).toBe(0n);
      // memberList: serializable answers from the member's own view; linearizable (the default) needs a leader on
      // etcd 3.5+, while 3.4 always answered locally.
      expect((await perCall.cluster.memberList({ serializable: true, timeoutMs: 1000 })).members).toHaveLength(3);
      const linearizable = await perCall.cluster.memberList({ timeoutMs: 1500 }).then(
        (r) => `served ${r.members.length}`,
        (e: EtcdError) => e.kind,
      );
      if (etcdAtLeast("3.5")) expect(["deadline-exceeded", "timeout"]).toContain(linearizable);
      else expect(linearizable).toBe("served 3");
    } finally {
      c.close();
      perCall.close();
      for (const m of others) await m.start();
      for (const m of etcd.members) await m.waitHealthy();
    }
  });
});
