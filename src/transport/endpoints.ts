import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import type { EtcdTransport } from "./etcd-transport.js";

/**
 * A Connect transport over several endpoints: each call goes to the current
 * endpoint; a call that finds it unavailable moves the next calls on to the
 * next endpoint. (Retrying the failed call itself is the caller's decision.)
 */
export interface EndpointTransport extends Transport {
  /** The configured endpoint URLs, in order. */
  readonly endpoints: readonly string[];
  /** The endpoint calls currently go to. */
  readonly current: string;
  /** Whether the endpoints' transports can only stream responses (gRPC-Web). */
  readonly halfDuplex: boolean;
  /**
   * Reports that `endpoint` failed a long-lived call (a stream broke): if it
   * is still the current endpoint, the next calls go to the next one.
   */
  failed(endpoint: string): void;
  /** The transport of one endpoint, for calls that must reach that member. */
  endpoint(index: number): Transport;
  /** Makes `index` the current endpoint. */
  use(index: number): void;
  /** Closes every endpoint's connections. */
  close(): void;
}

/** Creates an {@link EndpointTransport} with one transport per endpoint, made on first use. */
export function createEndpointTransport(
  endpoints: readonly string[],
  create: (endpoint: string) => EtcdTransport,
): EndpointTransport {
  const transports: (EtcdTransport | undefined)[] = endpoints.map(() => undefined);
  let index = 0;

  const at = (i: number): EtcdTransport => (transports[i] ??= create(endpoints[i]!));
  const failed = (i: number, err: unknown): void => {
    if (index === i && endpoints.length > 1 && isUnavailable(err)) index = (i + 1) % endpoints.length;
  };

  return {
    endpoints,
    get current() {
      return endpoints[index]!;
    },
    get halfDuplex() {
      return at(index).halfDuplex === true;
    },
    failed(endpoint) {
      if (endpoints[index] === endpoint && endpoints.length > 1) index = (index + 1) % endpoints.length;
    },
    endpoint: at,
    use(i) {
      if (!(i >= 0 && i < endpoints.length)) throw new RangeError(`no endpoint ${i}`);
      index = i;
    },
    async unary(method, signal, timeoutMs, header, input, contextValues) {
      const i = index;
      try {
        return await at(i).unary(method, signal, timeoutMs, header, input, contextValues);
      } catch (err) {
        failed(i, err);
        throw err;
      }
    },
    async stream(method, signal, timeoutMs, header, input, contextValues) {
      const i = index;
      try {
        return await at(i).stream(method, signal, timeoutMs, header, input, contextValues);
      } catch (err) {
        failed(i, err);
        throw err;
      }
    },
    close() {
      for (const t of transports) t?.close?.();
    },
  };
}

function isUnavailable(err: unknown): boolean {
  return err instanceof ConnectError && err.code === Code.Unavailable;
}
