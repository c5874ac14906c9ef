// Picks the Node transport of an etcd-connect client for the bench programs.
//   h2       etcd.createGrpcH2Transport (the HTTP/2 transport; createLeanTransport
//            in builds before it was renamed) when the package exports it;
//            otherwise the package's default transport (reported as such).
//   connect  Connect's createGrpcTransport: etcd.createConnectGrpcTransport when
//            exported; otherwise etcd.createNodeTransport, with
//            ETCD_CONNECT_NODE_TRANSPORT=connect set (packages whose default Node
//            transport is the HTTP/2 one read it to pick Connect's transport; older
//            ones ignore it, their createNodeTransport being Connect's already).
// Returns { transport, name }: `transport` goes into the client options
// (undefined = the package's default), `name` into the reported versions.
export function pickTransport(etcd, wanted) {
  if (wanted === 'h2') {
    if (typeof etcd.createGrpcH2Transport === 'function') return { transport: etcd.createGrpcH2Transport, name: 'h2 (createGrpcH2Transport)' };
    if (typeof etcd.createLeanTransport === 'function') return { transport: etcd.createLeanTransport, name: 'h2 (createLeanTransport)' };
    process.stderr.write('bench: createGrpcH2Transport is not exported; using the default transport\n');
    return { transport: undefined, name: 'default (createGrpcH2Transport not exported)' };
  }
  if (wanted === 'connect') {
    if (typeof etcd.createConnectGrpcTransport === 'function') {
      return { transport: etcd.createConnectGrpcTransport, name: 'connect (createConnectGrpcTransport)' };
    }
    process.env.ETCD_CONNECT_NODE_TRANSPORT = 'connect';
    return { transport: etcd.createNodeTransport, name: 'connect (createNodeTransport)' };
  }
  throw new Error(`unknown transport ${JSON.stringify(wanted)} (h2|connect)`);
}
