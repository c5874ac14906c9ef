// Hello world: connect, print the member list, round-trip a key.
// Run with `npm run example` (starts a throwaway etcd) or against your own cluster:
//   ETCD_ENDPOINTS=http://127.0.0.1:2379 node --import tsx examples/hello.ts
import { connect, text } from "etcd-connect";

const endpoints = (process.env.ETCD_ENDPOINTS ?? "http://127.0.0.1:2379").split(",");
const client = await connect({ endpoints, dialTimeoutMs: 5000 });
try {
  const { header, members } = await client.cluster.memberList();
  console.log(`cluster ${header.clusterId.toString(16)} (answered by member ${header.memberId.toString(16)}, raft term ${header.raftTerm})`);
  for (const m of members) {
    console.log(`  member ${m.id.toString(16)} ${m.name}${m.isLearner ? " (learner)" : ""}`);
    console.log(`    peer URLs:   ${m.peerURLs.join(", ")}`);
    console.log(`    client URLs: ${m.clientURLs.join(", ")}`);
  }

  const put = await client.put("hello", "world from etcd-connect");
  const { kvs } = await client.get("hello");
  const kv = kvs[0]!;
  console.log(`put at revision ${put.header.revision}; get: ${text(kv.key)} = ${text(kv.value)} (version ${kv.version})`);
} finally {
  client.close();
}
