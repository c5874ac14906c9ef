// The live event feed under the tree: newest first, bounded.
import type { WatchEvent } from "etcd-connect";
import { h } from "../dom.js";
import { displayKey, preview } from "../format.js";
import { keyHref } from "./key-detail.js";

/** Events kept in the feed; older ones drop off. */
const MAX_EVENTS = 200;

/**
 * The feed element and a way to add events to it. Events are drawn once per animation frame, and only the newest
 * {@link MAX_EVENTS} of a burst (a prefix delete can bring 100,000 at once) ever become elements.
 */
export function eventFeed(prefix: Uint8Array): { element: HTMLElement; add(events: readonly WatchEvent[]): void } {
  const list = h("ol", { class: "feed", "data-testid": "feed", reversed: true });
  const count = h("span", { class: "muted" }, "waiting for changes…");
  let total = 0;
  const element = h("section", { class: "feed-pane", "aria-label": "live events" }, h("h3", null, "Live events ", count), list);
  let pending: WatchEvent[] = [];
  let frame = 0;
  const draw = () => {
    frame = 0;
    const events = pending.slice(-MAX_EVENTS);
    pending = [];
    const time = new Date().toLocaleTimeString(undefined, { hour12: false });
    const items = events.map((event) => {
      const key = displayKey(event.kv.key);
      return (
        h(
          "li",
          { class: `event ${event.type}`, "data-key": key },
          h("time", null, time),
          h("span", { class: `badge ${event.type}` }, event.type.toUpperCase()),
          h("a", { href: keyHref(prefix, event.kv.key) }, key),
          h("span", { class: "muted" }, ` rev ${event.kv.modRevision}`),
          event.type === "put" ? h("span", { class: "preview" }, preview(event.kv.value, 60)) : null,
        )
      );
    });
    list.prepend(...items.reverse());
    while (list.children.length > MAX_EVENTS) list.lastElementChild?.remove();
    count.textContent = `${total} since opened`;
  };
  return {
    element,
    add(events) {
      if (events.length === 0) return;
      total += events.length;
      pending.push(...events.slice(-MAX_EVENTS));
      if (pending.length > 4 * MAX_EVENTS) pending = pending.slice(-MAX_EVENTS);
      frame ||= requestAnimationFrame(draw);
    },
  };
}
