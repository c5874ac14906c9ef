// The console's entry: layout, routing between views, connection indicator, sign-in.
import type { WatchState } from "etcd-connect";
import { createApp, loadConfig, type App } from "./app.js";
import { h, replaceChildren } from "./dom.js";
import { clearNotices } from "./ui.js";
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

async function main(): Promise<void> {
  const config = await loadConfig();
  const app = createApp(config);
  const view = h("main", { id: "view" });
  const indicator = connectionIndicator(app);
  const user = h("span", { class: "user" });
  const nav = h("nav", { class: "views" }, VIEWS.map((v) => h("a", { href: `#/${v}`, "data-view": v }, v[0]!.toUpperCase() + v.slice(1))));
  document.title = config.title ? `${config.title} – etcd console` : "etcd console";
  replaceChildren(
    document.body,
    h("header", null, h("strong", { class: "brand" }, config.title ?? "etcd console"), nav, h("span", { class: "spacer" }), user, themeToggle(), indicator.element),
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
