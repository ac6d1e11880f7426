// The router: one view per URL, rendered from the JSON API. Links inside the site are followed
// with history.pushState, so reload, back and forward all show the view their URL names.
import { h } from '/ui/dom.js';
import { home, model, layer } from '/ui/views.js';
import { unit } from '/ui/unit.js';
import { jobs } from '/ui/jobs.js';

const routes = [
  [/^\/(models\/?)?$/, home],
  [/^\/models\/([^/]+)\/?$/, model],
  [/^\/models\/([^/]+)\/layers\/([^/]+)\/?$/, layer],
  [/^\/models\/([^/]+)\/layers\/([^/]+)\/units\/(\d+)\/?$/, unit],
  [/^\/jobs\/?$/, jobs],
];

const main = document.getElementById('main');
let current = null;

/** Renders the view of the current URL; `focus` moves keyboard and screen-reader focus to its heading. */
async function show(focus) {
  current?.abort();
  const controller = new AbortController();
  current = controller;
  const query = new URLSearchParams(location.search);
  const match = routes.map(([pattern, view]) => [location.pathname.match(pattern), view]).find(([m]) => m);
  main.setAttribute('aria-busy', 'true');
  let page;
  try {
    page = match
      ? await match[1]({ params: match[0].slice(1).map(decodeURIComponent), query, signal: controller.signal, navigate })
      : { title: 'Not found', body: [h('h1', {}, 'Not found'), h('p', {}, `Nothing lives at ${location.pathname}. Start from `, h('a', { href: '/' }, 'the models'), '.')] };
  } catch (error) {
    if (controller.signal.aborted) return;
    page = { title: 'Error', body: [h('h1', {}, 'Something went wrong'), h('p', { class: 'error' }, error.message), h('p', {}, h('a', { href: '/' }, 'Back to the models'))] };
  }

  if (controller.signal.aborted) return;
  document.title = `${page.title} · Microscope`;
  main.replaceChildren(...(page.crumbs ? [crumbs(page.crumbs)] : []), ...page.body.flat(Infinity).filter(Boolean));
  main.removeAttribute('aria-busy');
  for (const a of document.querySelectorAll('header.top nav a')) {
    const here = a.getAttribute('href') === '/jobs' ? location.pathname.startsWith('/jobs') : !location.pathname.startsWith('/jobs');
    if (here) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }

  page.after?.();
  const heading = main.querySelector('h1');
  heading?.setAttribute('tabindex', '-1');
  if (focus) heading?.focus({ preventScroll: true });
}

function crumbs(trail) {
  return h('nav', { 'aria-label': 'Breadcrumb', class: 'crumbs' },
    h('ol', {}, trail.map(([label, href], i) =>
      h('li', {}, i === trail.length - 1 ? h('span', { 'aria-current': 'page' }, label) : h('a', { href }, label)))));
}

/** Goes to a URL of the site: a new history entry (replace: the same one), then the view. */
export function navigate(url, { replace = false } = {}) {
  history[replace ? 'replaceState' : 'pushState'](null, '', url);
  const sameView = new URL(url, location.href).pathname === location.pathname;
  if (!sameView) window.scrollTo(0, 0);
  show(true);
}

document.addEventListener('click', (event) => {
  const a = event.target.closest?.('a[href]');
  if (!a || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const url = new URL(a.href, location.href);
  if (a.target || a.hasAttribute('download') || url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
  if (!routes.some(([pattern]) => pattern.test(url.pathname))) return;
  event.preventDefault();
  navigate(url.pathname + url.search + url.hash);
});

window.addEventListener('popstate', () => show(true));
show(false);
