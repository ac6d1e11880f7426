// Home (the models), a model (its layers) and a layer (every unit's lens as a lazy-loaded grid).
import { h, api, count, percent, enc, link } from '/ui/dom.js';
import { graphView, graphUrl } from '/ui/graph.js';

/**
 * The lenses as the farm's registry describes them (GET /api/lenses), in its order: id, scope, name,
 * description and the options each reads. Loaded once per page load, with the first model asked for.
 */
export let LENSES = [];
let lensesLoading;

export function getLenses(signal) {
  lensesLoading ??= api('/api/lenses', signal)
    .then((list) => { LENSES = list.map((l) => ({ id: l.id, scope: l.scope, name: l.title, description: l.description, options: l.options, onlyAffine: l.onlyAffineInImage })); return LENSES; })
    .catch((e) => { lensesLoading = undefined; throw e; });
  return lensesLoading;
}

/** The lenses a layer has: a lens only layers affine in the image have (weights) is left out elsewhere. */
export const layerLenses = (offered, layerInfo) => offered.filter((l) => !lensInfo(l).onlyAffine || layerInfo?.affineInImage);

/** Said on the pages of a layer affine in the image (the farm's lens JSON gives the same reason). */
export function affineNote(layerInfo) {
  return layerInfo?.affineInImage
    ? h('p', { class: 'note affine' }, 'This layer is affine in the image: no nonlinearity lies between them, so maximizing a channel has no optimum inside the image and gives a flat colour. ',
      'Its feature visualization maximizes the centre neuron instead, and the weights lens shows each unit’s kernel.')
    : null;
}

export const lensInfo = (id) => LENSES.find((l) => l.id === id) ?? { id, scope: 'unit', name: id, description: '', options: [] };

export const modelPath = (m) => `/models/${enc(m)}`;
export const layerPath = (m, l) => `${modelPath(m)}/layers/${enc(l)}`;
export const unitPath = (m, l, u) => `${layerPath(m, l)}/units/${u}`;
export const apiUnit = (m, l, u) => `/api/models/${enc(m)}/layers/${enc(l)}/units/${u}`;

const models = new Map();

/** A model's catalog (layers and lenses never change for a version): fetched once per page load. */
export function getModel(id, signal) {
  if (!models.has(id)) {
    models.set(id, Promise.all([api(`/api/models/${enc(id)}`, signal), getLenses(signal)]).then(([m]) => m).catch((e) => { models.delete(id); throw e; }));
  }
  return models.get(id);
}

export const shape = (s) => s.join(' × ');

/** The lens chosen with ?lens=, if the model offers it; else featurevis (or the first lens offered). */
export function chosenLens(query, offered) {
  const asked = query.get('lens');
  if (asked && offered.includes(asked)) return asked;
  return offered.includes('featurevis') ? 'featurevis' : offered[0];
}

/** A labelled select of the lenses; choosing one changes ?lens= (a new history entry). */
export function lensSwitcher(offered, lens, navigate, scopes = ['unit', 'layer']) {
  const id = 'lens-switcher';
  return h('p', { class: 'switcher' },
    h('label', { for: id }, 'Lens '),
    h('select', { id, onchange: (e) => navigate(link(location.pathname, e.target.value)) },
      offered.filter((l) => scopes.includes(lensInfo(l).scope)).map((l) => h('option', { value: l, selected: l === lens }, lensInfo(l).name))));
}

/** Whether a layer's index (unit → "lens/optionsHash" entries) has the lens for the unit. */
const stores = (entries, lens) => entries?.some((e) => e.split('/')[0] === lens) ?? false;

/** Units with a stored featurevis, from the counts the API keeps per lens. */
const featurevisUnits = (counts) => counts?.featurevis ?? 0;

export async function home({ signal }) {
  const list = await api('/api/models', signal);
  const cards = list.map((m) => {
    const done = featurevisUnits(m.renderedByLens);
    const rendered = h('span', {}, `${count(done)} of ${count(m.units)} (${percent(done, m.units)})`);
    const bar = h('progress', { max: m.units, value: done, 'aria-label': `${m.title}: units rendered` });
    return h('li', { class: 'card' },
      h('h2', {}, h('a', { href: modelPath(m.id) }, m.title || m.id)),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Id'), h('dd', {}, h('code', {}, m.id)),
        h('dt', {}, 'Source'), h('dd', {}, m.source || '–'),
        h('dt', {}, 'Layers'), h('dd', {}, count(m.layers)),
        h('dt', {}, 'Units'), h('dd', {}, count(m.units)),
        h('dt', {}, 'Rendered'), h('dd', {}, rendered)),
      bar);
  });
  return {
    title: 'Models',
    body: [
      h('h1', {}, 'Model organisms'),
      h('p', { class: 'lede' }, 'Every unit of every layer, seen through lenses: feature visualizations, dataset examples, tuning curves, DeepDream.'),
      cards.length ? h('ul', { class: 'cards' }, cards) : h('p', {}, 'No models are registered yet.'),
    ],
  };
}

/** The model page's two views: the layer graph (the default) and the layer table (?view=table). */
function viewTabs(id, query, table) {
  const href = (asTable) => {
    const q = new URLSearchParams(query);
    if (asTable) q.set('view', 'table');
    else q.delete('view');
    return modelPath(id) + (q.size ? `?${q}` : '');
  };
  return h('nav', { class: 'views', 'aria-label': 'Model views' },
    h('a', { href: href(false), 'aria-current': table ? null : 'page' }, 'Graph'),
    h('a', { href: href(true), 'aria-current': table ? 'page' : null }, 'Table'));
}

export async function model({ params: [id], query, signal, navigate }) {
  const m = await getModel(id, signal);
  const lens = chosenLens(query, m.lenses);
  const keep = query.get('lens') && lens;
  const table = query.get('view') === 'table';
  const head = [
    h('h1', {}, m.title || id),
    h('p', { class: 'lede' }, m.source, ' · version ', h('code', {}, m.version), ` · ${count(m.layers.length)} layers, ${count(m.totalUnits)} units`),
    m.notes?.length ? h('ul', { class: 'notes' }, m.notes.map((n) => h('li', {}, n))) : null,
    viewTabs(id, query, table),
    lensSwitcher(m.lenses, lens, navigate),
  ];
  const page = { title: m.title || id, crumbs: [['Models', '/'], [m.title || id, modelPath(id)]] };
  if (!table) {
    const [graph, layers] = await Promise.all([api(graphUrl(id), signal), api(`/api/models/${enc(id)}/layers`, signal)]);
    const byId = new Map(layers.map((l) => [l.id, l]));
    const view = graphView({
      graph,
      rendered: (layerId) => featurevisUnits(byId.get(layerId)?.renderedByLens),
      layerHref: (layerId) => link(layerPath(id, layerId), keep),
      thumbnail: (layerId, u) => `${apiUnit(id, layerId, u)}/lenses/featurevis`,
    });
    return { ...page, body: [...head, view.element], after: view.after };
  }

  const rows = m.layers.map((l) => {
    const rendered = h('td', { class: 'num' }, '…');
    return [l, rendered, h('tr', {},
      h('td', { class: 'num' }, l.index),
      h('th', { scope: 'row' }, h('a', { href: link(layerPath(id, l.id), keep) }, l.id)),
      h('td', {}, l.op),
      h('td', { class: 'num' }, shape(l.shape)),
      h('td', { class: 'num' }, count(l.units)),
      rendered)];
  });
  api(`/api/models/${enc(id)}/layers`, signal).then((layers) => {
    const byId = new Map(layers.map((l) => [l.id, l]));
    for (const [l, cell] of rows) cell.textContent = percent(featurevisUnits(byId.get(l.id)?.renderedByLens), l.units);
  }).catch(() => {});
  return {
    ...page,
    body: [
      ...head,
      h('div', { class: 'scroll', role: 'region', 'aria-label': 'Layers', tabindex: 0 },
        h('table', {},
          h('caption', {}, 'Layers in graph order'),
          h('thead', {}, h('tr', {}, ['#', 'Layer', 'Op', 'Shape', 'Units', 'Feature vis. rendered'].map((c) => h('th', { scope: 'col' }, c)))),
          h('tbody', {}, rows.map(([, , tr]) => tr)))),
    ],
  };
}

export async function layer({ params: [id, layerId], query, signal, navigate }) {
  const [m, view] = await Promise.all([getModel(id, signal), api(`/api/models/${enc(id)}/layers/${enc(layerId)}`, signal)]);
  const info = view.layer;
  const offered = layerLenses(m.lenses, info);
  const lens = chosenLens(query, offered);
  const kind = lensInfo(lens);
  const keep = query.get('lens') ? lens : null;
  const stored = view.stored.unitLenses;
  let body;
  if (kind.scope === 'layer') {
    const record = view.stored.layerLenses.filter((r) => r.lens === lens).sort((a, b) => b.renderedAt.localeCompare(a.renderedAt))[0];
    body = record
      ? h('figure', { class: 'layer-lens' },
        h('img', { src: `${apiUnit(id, layerId, 0)}/lenses/${lens}?options=${record.optionsHash}`, alt: `${kind.name} of layer ${layerId}` }),
        h('figcaption', {}, kind.description))
      : h('p', { class: 'pending-note' }, `The ${kind.name} of this layer is pending: not rendered yet.`);
  } else {
    const done = Object.values(stored).filter((entries) => stores(entries, lens)).length;
    body = [
      h('p', {}, `${count(done)} of ${count(info.units)} units have their ${kind.name.toLowerCase()} (${percent(done, info.units)})${done < info.units ? '; the others are pending' : ''}.`),
      h('ul', { class: lens === 'weights' ? 'units kernels' : 'units' }, Array.from({ length: info.units }, (_, u) => {
        const has = stores(stored[u], lens);
        return h('li', {}, h('a', { href: link(unitPath(id, layerId, u), keep), class: has ? 'unit' : 'unit pending', 'aria-label': has ? null : `Unit ${u}, pending` },
          has
            ? h('img', { src: `${apiUnit(id, layerId, u)}/lenses/${lens}`, alt: `Unit ${u}`, loading: 'lazy', decoding: 'async', width: 128, height: 128 })
            : h('span', { class: 'placeholder', 'aria-hidden': 'true' }, 'pending'),
          h('span', { class: 'n', 'aria-hidden': 'true' }, u)));
      })),
    ];
  }

  return {
    title: `${layerId} · ${m.title || id}`,
    crumbs: [['Models', '/'], [m.title || id, link(modelPath(id), keep)], [layerId, link(layerPath(id, layerId), keep)]],
    body: [
      h('h1', {}, `Layer ${layerId}`),
      h('p', { class: 'lede' }, `${info.op} · shape ${shape(info.shape)} · ${count(info.units)} units · ${kind.description}`),
      affineNote(info),
      lensSwitcher(offered, lens, navigate),
      body,
    ],
  };
}
