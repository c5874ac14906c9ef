// The console's entry: layout, routing between views, connection indicator, sign-in.
import type { WatchState } from "etcd-connect";
import { CONNECTION_COLOURS, createApp, forgetConnection, loadConfig, saveConnection, savedConnections, type App } from "./app.js";
import { h, replaceChildren } from "./dom.js";
import { clearNotices, formDialog, showError } from "./ui.js";
import { ConsoleError } from "./errors.js";
import { authView } from "./views/auth.js";
import { clusterView } from "./views/cluster.js";
import { keysView, type KeysView } from "./views/keys.js";
import { leasesView } from "./views/leases.js";
import { showLogin } from "./views/login.js";

const VIEWS = ["keys", "leases", "cluster", "auth"] as const;
type ViewName = (typeof VIEWS)[number];

/** The connection indicator: the keys view's watch when it runs, else the client's endpoint states. */
function connectionIndicator(app: App): { element: HTMLElement; setWatch(state: WatchState | undefined): void } {
  const element = h("span", { class: "conn", "data-testid": "connection", role: "status" });
  let watch: WatchState | undefined;
  const update = () => {
    const states = app.client.endpointStates();
    let state: string;
    if (watch === "watching") state = "connected";
    else if (watch === "reconnecting") state = "reconnecting";
    else if (states.some((s) => s.state === "ready")) state = "connected";
    else if (states.length > 0 && states.every((s) => s.state === "failing")) state = "reconnecting";
    else state = "connecting";
    // Back in touch with etcd: notices about not reaching it are over.
    if (state === "connected" && element.dataset.state !== "connected") clearNotices("connection");
    element.dataset.state = state;
    element.textContent = state;
    element.title = states.map((s) => `${s.endpoint}: ${s.state}${s.error ? ` (${s.error})` : ""}`).join("\n");
  };
  app.onEndpointStateChange(update);
  // Also on a timer: a failing endpoint's retry time passes without an event.
  setInterval(update, 1000);
  update();
  return {
    element,
    setWatch(state) {
      watch = state;
      update();
    },
  };
}

/** Light, dark or the system's choice (`prefers-color-scheme`), remembered in this browser. */
function themeToggle(): HTMLElement {
  const order = ["system", "dark", "light"] as const;
  type Theme = (typeof order)[number];
  const stored = localStorage.getItem("etcd-console-theme");
  let theme: Theme = (order as readonly string[]).includes(stored ?? "") ? (stored as Theme) : "system";
  const button = h("button", { class: "link theme", "data-testid": "theme" });
  const apply = () => {
    if (theme === "system") delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = theme;
    button.textContent = theme === "dark" ? "☾ dark" : theme === "light" ? "☀ light" : "◐ auto";
    button.setAttribute("aria-label", `colour theme: ${theme} (change)`);
  };
  button.addEventListener("click", () => {
    theme = order[(order.indexOf(theme) + 1) % order.length]!;
    localStorage.setItem("etcd-console-theme", theme);
    apply();
  });
  apply();
  return button;
}

/** The connection switcher: the configured cluster, the ones saved in this browser, and "add…". */
function connectionSwitcher(app: App): HTMLElement {
  const select = h("select", { "aria-label": "cluster", "data-testid": "connections" });
  const render = () => {
    const current = app.connection;
    replaceChildren(
      select,
      h("option", { value: "", selected: current.name === "" }, app.config.title ?? "this console's cluster"),
      savedConnections().map((c) => h("option", { value: c.name, selected: c.name === current.name }, c.name)),
      h("option", { value: "+add" }, "add a cluster…"),
      current.name !== "" ? h("option", { value: "+forget" }, `forget ${current.name}`) : null,
    );
    // A coloured bar tells clusters apart at a glance (production in red).
    document.documentElement.style.setProperty("--connection", current.color === "none" ? "transparent" : current.color);
  };
  select.addEventListener("change", () => {
    const value = select.value;
    if (value === "+add") {
      render();
      void formDialog(
        "Add a cluster",
        [
          { name: "name", label: "Name", required: true, placeholder: "production" },
          { name: "endpoints", label: "Proxy URLs (comma-separated)", required: true, placeholder: "https://etcd-proxy.example:8443" },
          { name: "color", label: "Colour", type: "select", options: CONNECTION_COLOURS, value: "none" },
        ],
        async (v) => {
          const endpoints = (v.endpoints ?? "").split(",").map((e) => e.trim()).filter(Boolean);
          for (const e of endpoints) if (!/^https?:\/\/[^/\s]+/.test(e)) throw new ConsoleError("invalid-url", `${e} is not an http(s) URL`);
          if (!v.name || v.name.startsWith("+")) throw new ConsoleError("invalid-name", "Give the cluster a name.");
          saveConnection({ name: v.name, endpoints, color: v.color ?? "none" });
          app.useConnection(v.name);
        },
        "Add and switch",
        h("p", { class: "muted" }, "Saved in this browser. The proxy must allow this page's origin (--allow-origin), and the page's Content-Security-Policy must allow the proxy (npm start: CONSOLE_CONNECT_SRC)."),
      );
      return;
    }
    if (value === "+forget") {
      forgetConnection(app.connection.name);
      app.useConnection("");
      return;
    }
    app.useConnection(value);
  });
  app.onClientChange(render);
  render();
  return select;
}

/** Explains a connection the page's Content-Security-Policy blocked, which the browser reports only as a failed fetch. */
function explainCsp(): void {
  document.addEventListener("securitypolicyviolation", (e) => {
    if (!e.violatedDirective.startsWith("connect-src")) return;
    showError(new ConsoleError(
      "blocked-by-csp",
      `This page's Content-Security-Policy does not allow connecting to ${e.blockedURI}. With npm start, list that origin in CONSOLE_CONNECT_SRC; when you host the console, add it to connect-src.`,
    ));
  });
}

async function main(): Promise<void> {
  explainCsp();
  const config = await loadConfig();
  const app = createApp(config);
  const view = h("main", { id: "view" });
  const indicator = connectionIndicator(app);
  const user = h("span", { class: "user" });
  const nav = h("nav", { class: "views" }, VIEWS.map((v) => h("a", { href: `#/${v}`, "data-view": v }, v[0]!.toUpperCase() + v.slice(1))));
  document.title = config.title ? `${config.title} – etcd console` : "etcd console";
  replaceChildren(
    document.body,
    h("header", null, h("strong", { class: "brand" }, config.title ?? "etcd console"), nav, h("span", { class: "spacer" }), connectionSwitcher(app), user, themeToggle(), indicator.element),
    h("div", { id: "notices", "aria-live": "polite" }),
    view,
  );

  let unmount: (() => void) | undefined;
  let keys: KeysView | undefined;
  const route = (event?: Event) => {
    const [path = "", query = ""] = location.hash.replace(/^#\/?/, "").split("?");
    const name: ViewName = (VIEWS as readonly string[]).includes(path) ? (path as ViewName) : "keys";
    const params = new URLSearchParams(query);
    // Another key of the same prefix: the keys view keeps its tree and watch.
    if (event?.type === "hashchange" && name === "keys" && keys?.update(params)) return;
    unmount?.();
    unmount = undefined;
    keys = undefined;
    // The errors of the view being left were about its own calls, which have stopped.
    clearNotices("all");
    for (const a of nav.querySelectorAll("a")) a.classList.toggle("active", a.dataset.view === name);
    indicator.setWatch(undefined);
    replaceChildren(
      user,
      app.user
        ? [`signed in as ${app.user} `, h("button", { class: "link", onclick: () => app.setCredentials(undefined) }, "sign out")]
        : null,
    );
    if (name === "keys") {
      keys = keysView(app, view, params, indicator.setWatch);
      unmount = keys.unmount;
    }
    else if (name === "leases") unmount = leasesView(app, view, params);
    else if (name === "cluster") unmount = clusterView(app, view);
    else unmount = authView(app, view);
  };
  app.onLoginNeeded(() => showLogin(app));
  app.onClientChange(() => {
    clearNotices("all"); // another user: the old errors were about the old client
    route();
  });
  window.addEventListener("hashchange", route);
  route();
}

void main();
