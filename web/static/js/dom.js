// DOM helpers. Text is only ever inserted as text: el() appends strings as
// text nodes and sets attributes with setAttribute, and nothing in the page
// assigns innerHTML, so a message such as <img src=x onerror=...> shows as
// those characters.

/** The element with the given id. */
export const byId = (id) => document.getElementById(id);

/**
 * el builds an element. attrs become attributes ("class" the class name; a
 * value of false, null or undefined leaves the attribute out, true sets it
 * empty); children are nodes or strings, appended as text.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value == null) continue;
    if (name === 'class') node.className = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child != null) node.append(child);
  }
  return node;
}

/** show sets whether node is displayed. */
export function show(node, visible) {
  node.hidden = !visible;
}

/** A timer that runs fn at most once per delay, however often it is asked. */
export function coalesce(fn, delay) {
  let timer = 0;
  return () => {
    if (timer) return;
    timer = setTimeout(() => { timer = 0; fn(); }, delay);
  };
}
