// A tiny DOM builder: enough for a console without a framework.

/** Anything `h()` accepts as a child; null, undefined and false render nothing. */
export type Child = Node | string | number | bigint | null | undefined | false | readonly Child[];

/** Attributes, properties (`value`, `checked`, `disabled`) and `on*` event handlers. */
export type Props = Record<string, unknown>;

/** Creates an element: `h("button", { class: "primary", onclick: save }, "Save")`. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props?: Props | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props) {
    for (const [name, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (name.startsWith("on") && typeof value === "function") {
        el.addEventListener(name.slice(2), value as EventListener);
      } else if (name === "value" || name === "checked" || name === "disabled" || name === "selected") {
        (el as unknown as Record<string, unknown>)[name] = value;
      } else {
        el.setAttribute(name, value === true ? "" : String(value));
      }
    }
  }
  append(el, children);
  return el;
}

function append(el: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function replaceChildren(el: Element, ...children: Child[]): void {
  el.textContent = "";
  append(el, children);
}
