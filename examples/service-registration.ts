// Service registration: publish this instance under services/api/ for as long
// as the process lives, and notice at once if the registration is lost.
//   ETCD_ENDPOINTS=http://127.0.0.1:2379 node --import tsx examples/service-registration.ts
import { connect } from "etcd-connect";

const endpoints = (process.env.ETCD_ENDPOINTS ?? "http://127.0.0.1:2379").split(",");
const runForMs = Number(process.env.RUN_FOR_MS ?? 5000);
const client = await connect({ endpoints });

// A 5 s lease: if this process dies, the key disappears 5 s later.
const { id, ttl } = await client.lease.grant(5);
const key = `services/api/${process.pid}`;
await client.put(key, JSON.stringify({ addr: "127.0.0.1:8080" }), { lease: id });
console.log(`registered ${key} with lease ${id.toString(16)} (ttl ${ttl}s)`);

// Renewed every ttl/3 in the background; `done` settles when renewals stop.
const keeper = client.lease.keepAlive(id);
keeper.done.then((lost) => {
  if (lost) console.log(`registration lost (${lost.kind}): re-register or exit`);
});

await new Promise((resolve) => setTimeout(resolve, runForMs));
console.log(`still registered: ${(await client.get(key)).count === 1n}`);

// Deregister cleanly: revoking deletes the key and stops renewals.
await client.lease.revoke(id);
console.log(`deregistered: ${(await client.get(key)).count === 0n}; keeper done: ${(await keeper.done) === undefined}`);
client.close();
