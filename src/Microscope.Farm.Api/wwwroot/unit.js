// A unit: every lens side by side (stored ones with their quality figures, the rest as pending),
// its permalink and API URL, and the previous and next unit of the layer.
import { h, api, enc, link, when } from '/ui/dom.js';
import { LENSES, getModel, chosenLens, lensSwitcher, layerLenses, affineNote, modelPath, layerPath, unitPath, apiUnit } from '/ui/views.js';

const newestFirst = (a, b) => b.renderedAt.localeCompare(a.renderedAt);

/** Quality figures as a description list: names as the farm writes them, values to 4 significant digits. */
function quality(figures) {
  const entries = Object.entries(figures ?? {});
  if (!entries.length) return null;
  return h('dl', { class: 'facts quality' }, entries.map(([k, v]) => [h('dt', {}, k), h('dd', {}, Number.isInteger(v) ? v : Number(v).toPrecision(4))]));
}

/** How each option reads in a lens's caption; an option at its usual value may say nothing. */
const OPTION_TEXT = {
  steps: (o) => `${o.steps} steps`,
  size: (o) => `${o.size} px`,
  seed: (o) => `seed ${o.seed}`,
  fourier: (o) => (o.fourier ? null : 'plain pixels'),
  transforms: (o) => (o.transforms ? null : 'no transforms'),
  diversityImages: (o) => `${o.diversityImages} images`,
  top: (o) => `top ${o.top}`,
  dataset: (o) => `of dataset ${o.dataset}`,
  family: (o) => `${o.family} stimuli`,
  reluRedirect: (o) => (o.reluRedirect === false ? 'true gradient from the first step' : null),
};

/** The options that shaped this lens: those the registry says it reads (the farm resets the others). */
function options(kind, o) {
  if (!o) return '';
  return kind.options.map((name) => OPTION_TEXT[name]?.(o)).filter(Boolean).join(', ');
}

/** The dataset images that excite the unit most, with their activations, from the lens's JSON data. */
function activations(record, signal) {
  if (!record?.dataUrl || record.lens !== 'dataset-examples') return null;
  const table = h('table', { class: 'activations' }, h('caption', {}, 'Top examples and their activations'),
    h('thead', {}, h('tr', {}, ['#', 'Image', 'Activation', 'At (x, y)'].map((c) => h('th', { scope: 'col' }, c)))));
  api(record.dataUrl, signal).then((data) => {
    table.append(h('tbody', {}, (data.data?.top ?? []).map((e, i) => h('tr', {},
      h('td', { class: 'num' }, i + 1), h('td', {}, h('code', {}, e.image)),
      h('td', { class: 'num' }, Number(e.activation).toPrecision(4)), h('td', { class: 'num' }, `${e.x}, ${e.y}`)))));
  }).catch(() => table.append(h('tbody', {}, h('tr', {}, h('td', { colspan: 4 }, 'The data could not be loaded.')))));
  return [table, h('p', { class: 'meta' }, h('a', { href: record.dataUrl }, 'All data (JSON)'))];
}

/** A tuning plot's alt text says what its title and peak marker show. */
function tuningAlt(unitNumber, record) {
  const q = record.quality ?? {};
  const at = Object.entries(q).filter(([k]) => k.startsWith('peakAt.')).map(([k, v]) => `${k.slice(7)} ${v}`).join(', ');
  return `Tuning curve of unit ${unitNumber} to ${record.options?.family ?? 'synthetic'} stimuli` +
    (q.peak === undefined ? '' : `, peak ${Number(q.peak).toPrecision(3)}${at ? ` at ${at}` : ''}`);
}

function figure(kind, unitNumber, record, url, selected, signal) {
  const alt = kind.id === 'tuning' && record ? tuningAlt(unitNumber, record) : `${kind.name} of unit ${unitNumber}`;
  return h('figure', { class: selected ? 'lens selected' : 'lens', id: `lens-${kind.id}`, 'aria-current': selected ? 'true' : null },
    record
      ? h('a', { href: url, class: 'image', title: 'Open the image' }, h('img', { src: url, alt, loading: 'lazy', decoding: 'async' }))
      : h('div', { class: 'image placeholder' }, 'pending'),
    h('figcaption', {},
      h('h2', {}, kind.name, kind.scope === 'layer' ? h('span', { class: 'tag' }, 'whole layer') : null),
      h('p', {}, kind.description),
      record
        ? [h('p', { class: 'meta' }, options(kind, record.options), ' · ', when(record.renderedAt), ' · options ', h('code', {}, record.optionsHash)), quality(record.quality), activations(record, signal)]
        : h('p', { class: 'meta' }, 'Not rendered yet: it appears here once a job renders it.')));
}

function copyable(label, value, id, action) {
  const input = h('input', { id, value, readonly: true, class: 'copy-value' });
  const status = h('span', { class: 'copied', role: 'status' });
  return h('div', { class: 'copyable' },
    h('label', { for: id }, label),
    input,
    h('button', {
      type: 'button',
      onclick: async () => {
        input.select();
        try {
          await navigator.clipboard.writeText(value);
        } catch {
          document.execCommand?.('copy');
        }
        status.textContent = 'Copied';
        setTimeout(() => { status.textContent = ''; }, 2000);
      },
    }, action),
    status);
}

export async function unit({ params: [id, layerId, unitText], query, signal, navigate }) {
  const number = Number(unitText);
  const [m, layerView, view] = await Promise.all([
    getModel(id, signal),
    api(`/api/models/${enc(id)}/layers/${enc(layerId)}`, signal),
    api(apiUnit(id, layerId, number), signal),
  ]);
  const offered = layerLenses(m.lenses, layerView.layer);
  const lens = chosenLens(query, offered);
  const keep = query.get('lens') ? lens : null;
  const units = layerView.layer.units;
  const figures = LENSES.filter((k) => offered.includes(k.id)).map((kind) => {
    if (kind.scope === 'layer') {
      const record = layerView.stored.layerLenses.filter((r) => r.lens === kind.id).sort(newestFirst)[0];
      return figure(kind, number, record, record && `${apiUnit(id, layerId, number)}/lenses/${kind.id}?options=${record.optionsHash}`, kind.id === lens);
    }

    const record = view.lenses.filter((r) => r.lens === kind.id).sort(newestFirst)[0];
    return figure(kind, number, record, record?.url, kind.id === lens, signal);
  });
  const permalink = new URL(link(view.permalink, keep), location.origin).href;
  // The first unit has no previous link and the last no next one (an empty slot keeps the layout).
  const step = (u, rel, label) => (u >= 0 && u < units
    ? h('a', { href: link(unitPath(id, layerId, u), keep), rel, class: 'step' }, label)
    : h('span', { class: 'step', 'aria-hidden': 'true' }));
  return {
    title: `Unit ${number} · ${layerId} · ${m.title || id}`,
    crumbs: [['Models', '/'], [m.title || id, link(modelPath(id), keep)], [layerId, link(layerPath(id, layerId), keep)], [`Unit ${number}`, link(unitPath(id, layerId, number), keep)]],
    body: [
      h('h1', {}, `Unit ${number}`, h('span', { class: 'sub' }, ` of ${layerId}, ${m.title || id}`)),
      h('nav', { class: 'steps', 'aria-label': 'Units of this layer' },
        step(number - 1, 'prev', `← Unit ${number - 1}`),
        h('span', {}, `${number + 1} of ${units}`),
        step(number + 1, 'next', `Unit ${number + 1} →`)),
      affineNote(layerView.layer),
      lensSwitcher(offered, lens, navigate),
      h('div', { class: 'lenses' }, figures),
      h('section', { class: 'links', 'aria-label': 'Links' },
        copyable('Permalink', permalink, 'permalink', 'Copy link'),
        copyable('API URL', new URL(apiUnit(id, layerId, number), location.origin).href, 'api-url', 'Copy API URL')),
    ],
    after: () => {
      if (query.get('lens')) document.getElementById(`lens-${lens}`)?.scrollIntoView({ block: 'nearest' });
    },
  };
}

