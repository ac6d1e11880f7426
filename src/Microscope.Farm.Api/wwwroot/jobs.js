// The jobs: progress, counts, ETA and failures, refreshed every few seconds while any job runs;
// and the form that uploads a model (POST /api/models) and starts rendering it (POST /api/jobs).
import { h, api, count, percent, duration, when } from '/ui/dom.js';
import { modelPath } from '/ui/views.js';

const KEY = 'microscope.apiKey';

function job(j) {
  const c = j.counts;
  const label = `${j.id}: ${count(c.done)} of ${count(c.total)} work items done`;
  return h('li', { class: `card job ${j.state.toLowerCase()}` },
    h('h2', {}, j.id, ' ', h('span', { class: 'state' }, j.state)),
    j.intake
      ? h('p', {}, 'Model ', h('a', { href: modelPath(j.model) }, j.model), ' · intake: a render silo catalogs the upload')
      : h('p', {}, 'Model ', h('a', { href: modelPath(j.model) }, j.model), ` · lenses ${(j.lenses.length ? j.lenses : ['featurevis']).join(', ')}`,
        ` · ${j.layers ? `${count(j.layers)} layers` : 'every layer'} · ${j.units === 'all' ? 'every unit' : `units ${j.units}`} · priority ${j.priority}`),
    h('progress', { max: Math.max(c.total, 1), value: c.done, 'aria-label': label }),
    h('dl', { class: 'facts counts' },
      h('dt', {}, 'Done'), h('dd', {}, `${count(c.done)} / ${count(c.total)} (${percent(c.done, c.total)})`),
      h('dt', {}, 'Rendering'), h('dd', {}, count(c.running)),
      h('dt', {}, 'Waiting'), h('dd', {}, count(c.waiting)),
      h('dt', {}, 'Failed'), h('dd', {}, count(c.failed)),
      h('dt', {}, 'ETA'), h('dd', {}, j.isFinished ? '–' : j.state === 'Paused' ? 'paused' : duration(j.etaSeconds)),
      h('dt', {}, 'Renders'), h('dd', {}, `${count(j.renders)} (${count(j.retries)} retries, ${count(j.leaseExpirations)} lapsed leases)`),
      h('dt', {}, 'Submitted'), h('dd', {}, when(j.submittedAt)),
      h('dt', {}, 'Finished'), h('dd', {}, when(j.finishedAt))),
    j.failures.length
      ? h('details', { class: 'failures' },
        h('summary', {}, `${count(j.failures.length)} failed work items`),
        h('ul', {}, j.failures.map((f) => h('li', {},
          h('strong', {}, f.description), ` after ${f.attempts} attempts on ${f.workers.join(', ') || 'no worker'}: `, h('code', {}, f.error)))))
      : null);
}

// An accepted upload is catalogued by a render silo: follow its status (GET /api/models/{id}/status)
// until it is ready or failed, saying that it waits.
async function intake(status, headers, message) {
  while (status.state === 'Pending') {
    message.textContent = `Uploaded ${status.model}; a render silo is cataloguing it (pending)…`;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const response = await fetch(`/api/models/${encodeURIComponent(status.model)}/status`, { headers });
    if (!response.ok) throw new Error(`its status could not be read: ${response.status} ${response.statusText}`);
    status = await response.json();
  }
  return status;
}

function uploadForm(uploaded) {
  const message = h('p', { class: 'message', role: 'status', 'aria-live': 'polite' });
  const key = h('input', { id: 'upload-key', type: 'password', autocomplete: 'current-password', value: sessionStorage.getItem(KEY) ?? '' });
  const field = (id, label, attrs, hint) => h('p', {},
    h('label', { for: id }, label), attrs ? h('input', { id, name: id.replace('upload-', ''), type: 'file', ...attrs }) : null,
    hint ? h('span', { class: 'hint', id: `${id}-hint` }, hint) : null);
  const render = h('input', { id: 'upload-render', type: 'checkbox', checked: true });
  const submit = async (event) => {
    event.preventDefault();
    const form = event.target;
    const body = new FormData();
    for (const part of ['model', 'manifest', 'preprocessing']) {
      const file = form.querySelector(`#upload-${part}`).files[0];
      if (file) body.append(part, file);
    }

    const headers = key.value ? { authorization: `Bearer ${key.value}` } : {};
    if (key.value) {
      sessionStorage.setItem(KEY, key.value);
      // For private reads: images and JSON are then read with this key too (same site only; reads
      // only; over HTTPS never sent in clear). Set by this script, so not HttpOnly: see docs/api.md.
      const secure = location.protocol === 'https:' ? '; Secure' : '';
      document.cookie = `microscope-key=${encodeURIComponent(key.value)}; path=/; SameSite=Strict${secure}`;
    }
    message.textContent = 'Uploading and checking the model…';
    try {
      const id = form.querySelector('#upload-id').value.trim();
      const response = await fetch(`/api/models${id ? `?id=${encodeURIComponent(id)}` : ''}`, { method: 'POST', body, headers });
      const accepted = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(accepted.detail ?? `${response.status} ${response.statusText}`);
      const status = await intake(accepted, headers, message);
      if (status.state === 'Failed') throw new Error(status.reason);
      const model = await (await fetch(`/api/models/${encodeURIComponent(status.model)}`, { headers })).json();
      if (render.checked) {
        const job = await fetch('/api/jobs', { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ model: model.id }) });
        if (!job.ok) throw new Error(`the model ${model.id} is registered, but its job was refused: ${(await job.json().catch(() => ({}))).detail ?? job.status}`);
      }

      message.replaceChildren(`Registered ${model.id} (${model.layers.length} layers). `, h('a', { href: modelPath(model.id) }, `Open ${model.id}`));
      uploaded();
    } catch (error) {
      message.textContent = `Not accepted: ${error.message}`;
    }
  };
  return h('section', { class: 'upload', 'aria-labelledby': 'upload-title' },
    h('h2', { id: 'upload-title' }, 'Add a model'),
    h('p', {}, 'Upload an ONNX vision model; the farm checks it, catalogs its layers, and renders the feature visualization of every unit. Writes need an API key unless you are on the farm\'s own machine.'),
    h('form', { onsubmit: submit },
      h('p', {}, h('label', { for: 'upload-key' }, 'API key'), key, h('span', { class: 'hint' }, 'kept in this tab only')),
      field('upload-model', 'Model (.onnx)', { accept: '.onnx', required: true }),
      h('p', {}, h('label', { for: 'upload-id' }, 'Id (optional)'),
        h('input', { id: 'upload-id', type: 'text', pattern: '[A-Za-z0-9._\\-]+', 'aria-describedby': 'upload-id-hint' }),
        h('span', { class: 'hint', id: 'upload-id-hint' }, 'letters, digits, dot, dash, underscore; from the manifest or the file when empty')),
      field('upload-manifest', 'Manifest (.json, optional)', { accept: '.json,application/json' }, 'how to feed it an image; guessed when absent'),
      field('upload-preprocessing', 'Preprocessing model (.onnx, optional)', { accept: '.onnx' }),
      h('p', {}, render, h('label', { for: 'upload-render', class: 'inline' }, ' Render its feature visualizations now')),
      h('p', {}, h('button', { type: 'submit' }, 'Upload'))),
    message);
}

export async function jobs({ signal }) {
  const list = h('ul', { class: 'cards jobs' });
  let latest = [];
  const fill = (all) => {
    latest = all;
    list.replaceChildren(...(all.length ? all.map(job) : [h('li', {}, 'No jobs yet.')]));
  };
  fill(await api('/api/jobs', signal));
  const isRunning = (all) => all.some((j) => !j.isFinished);
  let following = false;
  const follow = async () => {
    if (following) return;
    following = true;
    while (isRunning(latest) && !signal.aborted) {
      await new Promise((resolve) => setTimeout(resolve, 5000));
      if (signal.aborted || document.hidden) continue;
      try {
        fill(await api('/api/jobs', signal));
      } catch {
        // A missed refresh is retried at the next tick.
      }
    }

    following = false;
  };
  const uploaded = async () => {
    fill(await api('/api/jobs', signal));
    follow();
  };
  return {
    title: 'Jobs',
    crumbs: [['Models', '/'], ['Jobs', '/jobs']],
    body: [h('h1', {}, 'Jobs'), h('p', { class: 'lede' }, 'Newest first; the page follows running jobs every five seconds.'), list, uploadForm(uploaded)],
    after: follow,
  };
}
