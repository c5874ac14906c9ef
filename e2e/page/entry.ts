// The test page's script: the package's browser entry, exposed for page.evaluate().
import * as etcd from "etcd-connect";

(globalThis as unknown as { etcd: typeof etcd }).etcd = etcd;
document.title = "etcd-connect e2e";
