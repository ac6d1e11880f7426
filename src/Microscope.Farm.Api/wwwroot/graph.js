// The model page's graph view: the layer graph (GET /api/models/{m}/graph) laid out by dagre, each
// layer a link to its page with its op, shape and a strip of a few units' feature visualizations.
// Zoom (buttons, +/-, the wheel), pan (drag, arrow keys) and a box that finds a layer by name keep
// a 100+ layer model usable.
import { h, enc } from '/ui/dom.js';
import dagre from '/ui/dagre.js';

const SVG = 'http://www.w3.org/2000/svg';
const NODE_WIDTH = 188;
const NODE_HEIGHT = 58;
const STRIP_HEIGHT = 40;
const THUMBNAILS = 4;

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  el.append(...children);
  return el;
}

/**
 * The graph as an element, and `after` (run once it is in the page) that fits it to the viewport.
 * `rendered(id)`: how many units of the layer have a stored feature visualization (0 shows no strip);
 * `layerHref(id)`, `thumbnail(id, unit)`: the layer page and a unit's feature-visualization URL.
 */
export function graphView({ graph, rendered, layerHref, thumbnail }) {
  const started = performance.now();
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'TB', nodesep: 20, ranksep: 34, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const node of graph.nodes) {
    const strip = node.id !== 'input' && rendered(node.id) > 0;
    g.setNode(node.id, { width: NODE_WIDTH, height: NODE_HEIGHT + (strip ? STRIP_HEIGHT : 0), strip });
  }
  for (const edge of graph.edges) g.setEdge(edge.from, edge.to);
  dagre.layout(g);
  const size = g.graph();

  const edges = svg('svg', { class: 'edges', width: size.width, height: size.height, 'aria-hidden': 'true' },
    svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 8 8', refX: 8, refY: 4, markerWidth: 7, markerHeight: 7, orient: 'auto' },
      svg('path', { d: 'M0,0 L8,4 L0,8 z' }))),
    ...g.edges().map((e) => svg('path', {
      d: g.edge(e).points.map((p, i) => `${i ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' '),
      'marker-end': 'url(#arrow)',
    })));

  const nodes = graph.nodes.map((node) => {
    const box = g.node(node.id);
    const style = `left:${box.x - box.width / 2}px;top:${box.y - box.height / 2}px;width:${box.width}px;height:${box.height}px`;
    const text = [
      h('span', { class: 'id' }, node.id),
      h('span', { class: 'meta' }, `${node.op} · ${node.shape.join('×')}`),
      box.strip ? h('span', { class: 'strip', 'aria-hidden': 'true' }, Array.from({ length: Math.min(THUMBNAILS, node.units) }, (_, u) =>
        h('img', { src: thumbnail(node.id, u), alt: '', width: 36, height: 36, loading: 'lazy', decoding: 'async', onerror: (e) => e.target.remove() }))) : null,
    ];
    return node.id === 'input'
      ? h('div', { class: 'node input', style, 'data-node': node.id }, text)
      : h('a', { class: 'node', style, href: layerHref(node.id), 'data-node': node.id }, text);
  });

  const canvas = h('div', { class: 'graph-canvas', style: `width:${size.width}px;height:${size.height}px` }, edges, nodes);
  const viewport = h('div', { class: 'graph-viewport', role: 'region', 'aria-label': 'Layer graph: drag or use the arrow keys to pan, + and − to zoom', tabindex: 0 }, canvas);
  const status = h('span', { class: 'graph-status', role: 'status', 'aria-live': 'polite' });
  let view = { x: 0, y: 0, k: 1 };
  const apply = () => { canvas.style.transform = `translate(${view.x}px, ${view.y}px) scale(${view.k})`; };
  const zoom = (factor, cx = viewport.clientWidth / 2, cy = viewport.clientHeight / 2) => {
    const k = Math.min(2.5, Math.max(0.05, view.k * factor));
    view = { k, x: cx - ((cx - view.x) * k) / view.k, y: cy - ((cy - view.y) * k) / view.k };
    apply();
  };
  const fit = () => {
    const k = Math.min(1, viewport.clientWidth / size.width);
    view = { k, x: Math.max(0, (viewport.clientWidth - size.width * k) / 2), y: 0 };
    apply();
  };
  const centre = (id) => {
    const box = g.node(id);
    view = { k: Math.max(view.k, 0.8), x: 0, y: 0 };
    view.x = viewport.clientWidth / 2 - box.x * view.k;
    view.y = viewport.clientHeight / 2 - box.y * view.k;
    apply();
  };

  viewport.addEventListener('wheel', (e) => {
    e.preventDefault();
    const r = viewport.getBoundingClientRect();
    zoom(e.deltaY < 0 ? 1.15 : 1 / 1.15, e.clientX - r.left, e.clientY - r.top);
  }, { passive: false });
  let drag = null;
  viewport.addEventListener('pointerdown', (e) => {
    if (e.button !== 0 || e.target.closest('a')) return;
    drag = { x: e.clientX - view.x, y: e.clientY - view.y };
    viewport.setPointerCapture(e.pointerId);
  });
  viewport.addEventListener('pointermove', (e) => {
    if (!drag) return;
    view = { ...view, x: e.clientX - drag.x, y: e.clientY - drag.y };
    apply();
  });
  viewport.addEventListener('pointerup', () => { drag = null; });
  viewport.addEventListener('keydown', (e) => {
    const step = 60;
    const moves = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    if (moves[e.key]) {
      view = { ...view, x: view.x + moves[e.key][0], y: view.y + moves[e.key][1] };
      apply();
    } else if (e.key === '+' || e.key === '=') zoom(1.25);
    else if (e.key === '-') zoom(0.8);
    else return;
    e.preventDefault();
  });

  const find = (text) => {
    const wanted = text.trim().toLowerCase();
    const ids = graph.nodes.map((n) => n.id);
    const id = ids.find((i) => i.toLowerCase() === wanted) ?? ids.find((i) => i.toLowerCase().includes(wanted));
    for (const el of canvas.querySelectorAll('.node.found')) el.classList.remove('found');
    if (!wanted || !id) {
      status.textContent = wanted ? `No layer matches “${text.trim()}”.` : '';
      return;
    }
    const el = canvas.querySelector(`[data-node="${CSS.escape(id)}"]`);
    el.classList.add('found');
    centre(id);
    status.textContent = `Found ${id}.`;
    el.focus({ preventScroll: true });
  };
  const search = h('input', { id: 'graph-find', type: 'search', list: 'graph-layers', autocomplete: 'off' });
  const controls = h('div', { class: 'graph-controls' },
    h('form', { role: 'search', onsubmit: (e) => { e.preventDefault(); find(search.value); } },
      h('label', { for: 'graph-find' }, 'Find a layer '), search,
      h('datalist', { id: 'graph-layers' }, graph.nodes.map((n) => h('option', { value: n.id }))),
      h('button', { type: 'submit' }, 'Find')),
    h('span', { class: 'zoom' },
      h('button', { type: 'button', onclick: () => zoom(1.25), 'aria-label': 'Zoom in' }, '+'),
      h('button', { type: 'button', onclick: () => zoom(0.8), 'aria-label': 'Zoom out' }, '−'),
      h('button', { type: 'button', onclick: fit }, 'Fit')),
    status);

  return {
    element: h('section', { class: 'graph', 'aria-label': 'Layer graph' }, controls, viewport),
    after: () => {
      fit();
      viewport.dataset.layoutMs = String(Math.round(performance.now() - started));
      viewport.dataset.nodes = String(graph.nodes.length);
    },
  };
}

export const graphUrl = (model) => `/api/models/${enc(model)}/graph`;
