// Must not type-check in the browser project: the Node transport is not part of the browser entry.
import { createNodeTransport } from "etcd-connect";
export const transport = createNodeTransport;
