// The sign-in form, shown when etcd has authentication on and the console has no (valid) credentials.
import { createClient } from "etcd-connect";
import type { App } from "../app.js";
import { formDialog } from "../ui.js";
import { h } from "../dom.js";

let open: Promise<unknown> | undefined;

/** Opens the form (once, however many calls asked); on success the app's client signs in as that user. */
export function showLogin(app: App): void {
  open ??= formDialog(
    "Sign in to etcd",
    [
      { name: "username", label: "User", required: true, value: app.user ?? "" },
      { name: "password", label: "Password", type: "password" },
    ],
    async ({ username = "", password = "" }) => {
      // Check the credentials with a throwaway client first, so a typo does not replace a working client.
      const probe = createClient({ endpoints: app.config.endpoints, timeoutMs: 10_000 });
      try {
        await probe.auth.authenticate(username, password);
      } finally {
        probe.close();
      }
      app.setCredentials({ username, password });
    },
    "Sign in",
    h("p", { class: "muted" }, "This etcd has authentication enabled. The password stays in this tab's memory only."),
  ).finally(() => {
    open = undefined;
  });
}
