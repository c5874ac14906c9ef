// The live event feed under the tree: newest first, bounded.
import type { WatchEvent } from "etcd-connect";
import { h } from "../dom.js";
import { displayKey, preview } from "../format.js";
import { keyHref } from "./key-detail.js";

/** Events kept in the feed; older ones drop off. */
const MAX_EVENTS = 200;

/** The feed element and a way to add events to it. */
export function eventFeed(prefix: Uint8Array): { element: HTMLElement; add(event: WatchEvent): void } {
  const list = h("ol", { class: "feed", "data-testid": "feed", reversed: true });
  const count = h("span", { class: "muted" }, "waiting for changes…");
  let total = 0;
  const element = h("section", { class: "feed-pane", "aria-label": "live events" }, h("h3", null, "Live events ", count), list);
  return {
    element,
    add(event) {
      total++;
      count.textContent = `${total} since opened`;
      const time = new Date().toLocaleTimeString(undefined, { hour12: false });
      const key = displayKey(event.kv.key);
      list.prepend(
        h(
          "li",
          { class: `event ${event.type}`, "data-key": key },
          h("time", null, time),
          h("span", { class: `badge ${event.type}` }, event.type.toUpperCase()),
          h("a", { href: keyHref(prefix, event.kv.key) }, key),
          h("span", { class: "muted" }, ` rev ${event.kv.modRevision}`),
          event.type === "put" ? h("span", { class: "preview" }, preview(event.kv.value, 60)) : null,
        ),
      );
      while (list.children.length > MAX_EVENTS) list.lastElementChild?.remove();
    },
  };
}
