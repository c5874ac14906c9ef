// The console's shared state: configuration, the client (replaced on sign-in) and error routing.
import { createClient, type Client, type ClientOptions } from "etcd-connect";
import { ConsoleError, kindOf, needsLogin } from "./errors.js";
import { probeProxy } from "./reachability.js";
import { showError } from "./ui.js";

/** `config.json` next to the console's files (all optional). */
export interface ConsoleConfig {
  /** Proxy URLs the console talks to. Default: the console's own origin. */
  endpoints: string[];
  /** Shown in the title bar, e.g. the cluster's name. */
  title?: string;
}

/** A cluster the console can talk to: its proxies' URLs, and a colour to tell it apart (production in red). */
export interface Connection {
  name: string;
  endpoints: string[];
  /** A CSS colour name from {@link CONNECTION_COLOURS} ("none": no colour). */
  color: string;
}

/** The colours a connection may have. */
export const CONNECTION_COLOURS = ["none", "red", "orange", "green", "blue", "purple"] as const;

const SAVED = "etcd-console-connections";
const CURRENT = "etcd-console-connection";

/** Connections saved in this browser (the configured one is not among them). */
export function savedConnections(): Connection[] {
  try {
    const list = JSON.parse(localStorage.getItem(SAVED) ?? "[]") as unknown;
    if (!Array.isArray(list)) return [];
    return list.filter(
      (c): c is Connection =>
        typeof c?.name === "string" && Array.isArray(c.endpoints) && c.endpoints.every((e: unknown) => typeof e === "string") && typeof c.color === "string",
    );
  } catch {
    return [];
  }
}

/** Saves (or replaces, by name) a connection in this browser. */
export function saveConnection(c: Connection): void {
  localStorage.setItem(SAVED, JSON.stringify([...savedConnections().filter((x) => x.name !== c.name), c]));
}

/** Forgets a saved connection. */
export function forgetConnection(name: string): void {
  localStorage.setItem(SAVED, JSON.stringify(savedConnections().filter((x) => x.name !== name)));
}

/** What every view gets. */
export interface App {
  readonly config: ConsoleConfig;
  /** The connection in use: the configured one (name "") or a saved one. */
  readonly connection: Connection;
  /** Switches to another connection (a new client; signed out), without a reload. "" is the configured one. */
  useConnection(name: string): void;
  /** The current client; views read it on every call, since signing in replaces it. */
  readonly client: Client;
  /** The signed-in user, when authentication is used. */
  readonly user: string | undefined;
  /**
   * A separate client whose calls all go to one etcd member (the proxy's `x-etcd-endpoint`), for per-member
   * status. Cached per member URL until the credentials change.
   */
  memberClient(memberUrl: string): Client;
  /** Replaces the client with one that signs in as `user`; undefined signs out. */
  setCredentials(credentials: { username: string; password: string } | undefined): void;
  /** Routes an error: "sign in" errors open the login form, others show as a notice. */
  handleError(err: unknown, context?: string): void;
  /** Called after the client was replaced. */
  onClientChange(listener: () => void): void;
  /** Called when a call needs a signed-in user. */
  onLoginNeeded(listener: () => void): void;
  /** Called when an endpoint (proxy) of the client changes state. */
  onEndpointStateChange(listener: () => void): void;
}

/** Reads the configuration: `?endpoints=` in the page URL, else `config.json`, else the page's origin. */
export async function loadConfig(): Promise<ConsoleConfig> {
  const fromUrl = new URLSearchParams(location.search).get("endpoints");
  if (fromUrl) return { endpoints: fromUrl.split(",").map((e) => e.trim()).filter(Boolean) };
  try {
    const res = await fetch("config.json", { cache: "no-store" });
    if (res.ok) {
      const json = (await res.json()) as Partial<ConsoleConfig>;
      if (Array.isArray(json.endpoints) && json.endpoints.length > 0) {
        return { endpoints: json.endpoints.map(String), title: typeof json.title === "string" ? json.title : undefined };
      }
    }
  } catch {
    // no config.json: same origin
  }
  return { endpoints: [location.origin] };
}

/** Client defaults for a console: calls fail within 10 s rather than hang a view. */
const CLIENT_DEFAULTS: Partial<ClientOptions> = { timeoutMs: 10_000, dialTimeoutMs: 5_000 };

/** Creates the console's state. */
export function createApp(config: ConsoleConfig): App {
  let credentials: { username: string; password: string } | undefined;
  const stateListeners: Array<() => void> = [];
  const configured: Connection = { name: "", endpoints: config.endpoints, color: "none" };
  // The tab's connection survives reloads of this tab only.
  let connection = savedConnections().find((c) => c.name === sessionStorage.getItem(CURRENT)) ?? configured;
  const make = (extra: Partial<ClientOptions> = {}): Client =>
    createClient({ ...CLIENT_DEFAULTS, endpoints: connection.endpoints, ...credentials, ...extra });
  const makeMain = () => make({ onEndpointStateChange: () => stateListeners.forEach((l) => l()) });
  let client = makeMain();
  const members = new Map<string, Client>();
  const clientListeners: Array<() => void> = [];
  const loginListeners: Array<() => void> = [];

  // Once per client: when etcd is unavailable, ask whether a proxy refuses this page's origin (CORS).
  let probed = false;
  const explainUnreachable = () => {
    if (probed) return;
    probed = true;
    const endpoints = connection.endpoints;
    void Promise.all(endpoints.map((url) => probeProxy(url, AbortSignal.timeout(5_000)))).then((found) => {
      const refusing = endpoints.filter((_, i) => found[i] === "refuses-origin");
      if (refusing.length === 0 || endpoints !== connection.endpoints) return;
      showError(new ConsoleError(
        "blocked-by-cors",
        `The proxy at ${refusing.join(", ")} answers but does not allow this page's origin (${location.origin}). Start it with --allow-origin ${location.origin} (or list this origin in its allowOrigins).`,
      ));
    });
  };

  const replaceClient = () => {
    probed = false;
    const old = client;
    client = makeMain();
    for (const c of members.values()) c.close();
    members.clear();
    for (const listener of clientListeners) listener();
    old.close();
  };

  return {
    config,
    get connection() {
      return connection;
    },
    useConnection(name) {
      connection = name === "" ? configured : (savedConnections().find((c) => c.name === name) ?? configured);
      sessionStorage.setItem(CURRENT, connection.name);
      credentials = undefined; // another cluster has other users
      replaceClient();
    },
    get client() {
      return client;
    },
    get user() {
      return credentials?.username;
    },
    memberClient(memberUrl) {
      let c = members.get(memberUrl);
      if (!c) {
        c = make({
          timeoutMs: 3_000,
          interceptors: [
            (next) => (req) => {
              req.header.set("x-etcd-endpoint", memberUrl);
              return next(req);
            },
          ],
        });
        members.set(memberUrl, c);
      }
      return c;
    },
    setCredentials(next) {
      credentials = next;
      replaceClient();
    },
    handleError(err, context) {
      if (needsLogin(err)) {
        for (const listener of loginListeners) listener();
        return;
      }
      showError(err, context);
      if (kindOf(err) === "unavailable") explainUnreachable();
    },
    onClientChange(listener) {
      clientListeners.push(listener);
    },
    onLoginNeeded(listener) {
      loginListeners.push(listener);
    },
    onEndpointStateChange(listener) {
      stateListeners.push(listener);
    },
  };
}
