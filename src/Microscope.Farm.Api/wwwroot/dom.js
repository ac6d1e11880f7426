// Small helpers shared by the views: building elements (text is always set as text, never parsed
// as HTML), reading the API, and formatting numbers.

/** h('a', { href: '/' }, 'Models'): an element with attributes (on* as listeners) and children. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** GET /api/…, as JSON; a problem detail becomes an Error with its message. */
export async function api(path, signal) {
  const response = await fetch(path, { signal, headers: { accept: 'application/json' } });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error(body?.detail ?? `${response.status} ${response.statusText} from ${path}`);
  return body;
}

export const count = (n) => Number(n).toLocaleString('en');

export const percent = (part, whole) => (whole > 0 ? `${Math.floor((1000 * part) / whole) / 10}%` : '–');

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return 'measuring';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export const when = (iso) => (iso ? new Date(iso).toLocaleString('en', { dateStyle: 'medium', timeStyle: 'short' }) : '–');

export const enc = encodeURIComponent;

/** The path of a view, with ?lens= when one is chosen. */
export function link(path, lens) {
  return lens ? `${path}?lens=${enc(lens)}` : path;
}
