// The test page's script: the package's browser entry, exposed for page.evaluate().
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import * as etcd from "etcd-connect";

(globalThis as unknown as { etcd: typeof etcd }).etcd = etcd;
// connect-web's stock transport, to check it plugs in through the transport option.
(globalThis as unknown as { connectWeb: unknown }).connectWeb = { createGrpcWebTransport };
document.title = "etcd-connect e2e";
