// One session record: transcript with speakers and times, tone chart with cue markers that jump to their
// line, talk time, cues, private notes, corrections (the original is kept), search within, export, delete.
import { kindLabel, listeningSentences, severityLabel } from '../labels.js';
import { api, clock, consentWord, duration, el, setupTopbar, when } from './api.js';

const SVG = 'http://www.w3.org/2000/svg';
const sessionId = document.body.dataset.sessionId;
const base = `/api/records/sessions/${sessionId}`;
let record = null;
let colourOf = () => 0;

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  node.append(...children);
  return node;
}

function focusLine(lineId) {
  const node = document.getElementById(`line-${lineId}`);
  if (!node) return;
  document.querySelectorAll('.record-line.is-target').forEach((n) => n.classList.remove('is-target'));
  node.classList.add('is-target');
  node.scrollIntoView({ block: 'center' });
  node.focus({ preventScroll: true });
}

function renderHeader() {
  document.title = `${record.title} · ${when(record.created_at)} · Attune`;
  document.querySelector('#record-title').textContent = record.title;
  const ended = record.ended_at ? '' : ' · did not end normally';
  document.querySelector('#record-meta').textContent =
    `${when(record.created_at)} · ${duration(record.duration_s)} · ${record.lines.length} lines${ended}`;
  document.querySelector('#record-participants').replaceChildren(...record.participants.map((p) =>
    el('li', { class: `chip speaker-${colourOf(p.participant_id)}` },
      el('span', { class: 'swatch', 'aria-hidden': 'true' }),
      `${p.name} (${p.role}) · ${consentSummary(p)}`)));
  for (const link of document.querySelectorAll('[data-export]')) {
    link.href = `${base}/export/${link.dataset.export}`;
  }
}

function renderChart() {
  const width = 640;
  const height = 220;
  const pad = { left: 34, right: 10, top: 16, bottom: 24 };
  // The axis spans everything placed on it: lines, cues and consent decisions (a stretch with captions
  // off has no lines, so without them its shading would be squeezed against the edge).
  const end = Math.max(1, ...record.lines.map((l) => l.end_s), ...record.cues.map((c) => c.at_s),
    ...(record.consent_events ?? []).map((e) => e.at_s), record.ended_at ? (record.duration_s ?? 0) : 0);
  const x = (t) => pad.left + ((width - pad.left - pad.right) * t) / end;
  const y = (v) => pad.top + ((height - pad.top - pad.bottom) * (1 - v)) / 2;
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'group',
    'aria-label': 'Tone of each line over the session, per participant, with cue markers' });
  chart.append(svg('rect', { x: pad.left, y: pad.top, width: width - pad.left - pad.right,
    height: height - pad.top - pad.bottom, class: 'chart-frame' }));
  for (const [value, label] of [[1, '+1'], [0, '0'], [-1, '−1']]) {
    chart.append(svg('line', { x1: pad.left, x2: width - pad.right, y1: y(value), y2: y(value), class: 'chart-grid' }));
    const text = svg('text', { x: pad.left - 6, y: y(value) + 4, class: 'chart-label', 'text-anchor': 'end' });
    text.textContent = label;
    chart.append(text);
  }
  const endLabel = svg('text', { x: width - pad.right, y: height - 6, class: 'chart-label', 'text-anchor': 'end' });
  endLabel.textContent = clock(end);
  chart.append(endLabel);
  for (const p of record.participants) {
    const points = record.lines.filter((l) => l.participant_id === p.participant_id)
      .map((l) => [x((l.start_s + l.end_s) / 2), y(l.sentiment), l]);
    if (!points.length) continue;
    const cls = `speaker-${colourOf(p.participant_id)}`;
    chart.append(svg('polyline', { points: points.map(([px, py]) => `${px},${py}`).join(' '),
      class: `chart-series ${cls}` }));
    for (const [px, py, line] of points) {
      const dot = svg('circle', { cx: px, cy: py, r: 3.5, class: `chart-dot ${cls}` });
      const title = svg('title');
      title.textContent = `${clock(line.start_s)} ${line.speaker}: tone ${line.sentiment.toFixed(2)}`;
      dot.append(title);
      chart.append(dot);
    }
  }
  for (const cue of record.cues) {
    const who = record.participants.find((p) => p.participant_id === cue.participant_id);
    const label = `Cue at ${clock(cue.at_s)}, ${cue.severity}: ${cue.sentence}${who ? ` (${who.name})` : ''}`;
    const marker = svg('a', { href: `#line-${cue.line_id}`, class: `cue-marker severity-${cue.severity}`,
      'aria-label': label });
    const mx = x(cue.at_s);
    marker.append(svg('line', { x1: mx, x2: mx, y1: pad.top, y2: height - pad.bottom }),
      svg('path', { d: `M${mx - 7},${pad.top - 12} h14 l-7,10 z` }));
    const title = svg('title');
    title.textContent = label;
    marker.append(title);
    marker.addEventListener('click', (event) => { event.preventDefault(); focusLine(cue.line_id); });
    chart.append(marker);
  }
  // Stretches in which someone had captions and cues off: shaded, so a quiet stretch is not misread.
  const events = consentEvents();
  // A counselor not captioning their own speech is a choice about themselves: only clients' stretches are
  // shaded (the transcript explains both), as in the PDF report.
  events.forEach((event, i) => {
    if (event.role === 'counselor' || (event.state !== 'withdrawn' && event.state !== 'declined')) return;
    const next = events.slice(i + 1).find((e) => e.participant_id === event.participant_id && e.state === 'granted');
    const x0 = x(Math.min(event.offset, end));
    const x1 = x(Math.min(next ? next.offset : end, end));
    const gap = svg('rect', { x: x0, y: pad.top, width: Math.max(2, x1 - x0), height: height - pad.top - pad.bottom,
      class: `consent-gap speaker-${colourOf(event.participant_id)}` });
    const title = svg('title');
    title.textContent = `${nameOf(event.participant_id)}: captions and cues off from ${clock(event.offset)}`
      + (next ? ` to ${clock(next.offset)}` : '');
    gap.append(title);
    chart.insertBefore(gap, chart.children[1] ?? null);
  });
  document.querySelector('#tone-chart').replaceChildren(chart);
  document.querySelector('#tone-legend').replaceChildren(...record.participants.map((p) =>
    el('li', { class: `speaker-${colourOf(p.participant_id)}` }, el('span', { class: 'swatch', 'aria-hidden': 'true' }),
      p.name)));
}

function renderTalkTime() {
  document.querySelector('#talk-time').replaceChildren(...record.talk_time.map((t) => {
    const bar = el('span', { class: `bar speaker-${colourOf(t.participant_id)}` });
    bar.style.width = `${Math.round(t.share * 100)}%`;
    return el('li', {},
      el('div', { class: 'talk-row' }, el('span', { text: `${t.name} (${t.role})` }),
        el('span', { class: 'muted', text: `${Math.round(t.share * 100)}% · ${clock(t.seconds)}` })),
      el('div', { class: 'bar-track', role: 'img', 'aria-label': `${Math.round(t.share * 100)} percent` }, bar));
  }));
}

// How each counselor listened: the acts their sentences were coded as live, as the panel counted them.
function renderListening() {
  const box = document.querySelector('#listening');
  const counselors = record.listening ?? [];
  if (!counselors.length) {
    box.replaceChildren(el('p', { class: 'muted', text: 'No questions or reflections were counted in this session.' }));
    return;
  }
  box.replaceChildren(...counselors.map((c) => el('div', { class: 'listening-summary', dataset: { participant: c.participant_id } },
    el('p', { class: 'listening-counts', text:
      `${c.name}: ${c.open_question} open and ${c.closed_question} closed questions, ${c.reflection} reflection${c.reflection === 1 ? '' : 's'}` }),
    ...listeningSentences(c).map((text) => el('p', { class: 'muted small-text', text })))));
}

function nameOf(pid) {
  if (pid === 'session') return 'Everyone';
  return record.participants.find((p) => p.participant_id === pid)?.name ?? 'Someone who left';
}

// One cue: when, whom it is about, what kind, how much it asks; the sentence jumps to its line.
function renderCues() {
  const list = document.querySelector('#cue-list');
  if (!record.cues.length) {
    list.replaceChildren(el('li', { class: 'muted', text: 'No cues were raised in this session.' }));
    return;
  }
  list.replaceChildren(...record.cues.map((cue) => {
    const jump = cue.line_id != null;
    const sentence = jump
      ? el('button', { type: 'button', class: 'link-button cue-sentence', onclick: () => focusLine(cue.line_id),
        'aria-label': `${cue.sentence} (show the line at ${clock(cue.at_s)})` }, cue.sentence)
      : el('p', { class: 'cue-sentence', text: cue.sentence });
    return el('li', { class: `cue-item severity-${cue.severity} speaker-${colourOf(cue.participant_id)}`,
      'data-cue-kind': cue.kind },
    el('div', { class: 'cue-head' },
      el('span', { class: 'cue-time', text: clock(cue.at_s) }),
      el('span', { class: 'cue-who' }, el('span', { class: 'swatch', 'aria-hidden': 'true' }), nameOf(cue.participant_id)),
      el('span', { class: 'cue-severity', text: severityLabel(cue.severity) })),
    el('p', { class: 'cue-kind', text: kindLabel(cue.kind) }),
    sentence);
  }));
}

// ---------- consent history: a part of the record (who agreed, withdrew or declined, and when) ----------
const CONSENT_EVENT_WORDS = {
  granted: 'agreed to captions and cues',
  declined: 'declined captions and cues',
  withdrawn: 'stopped captions and cues',
  pending: 'was asked about captions and cues',
};

// Each decision with its time on the session clock (the server's at_s: the clock of lines and cues).
function consentEvents() {
  return (record.consent_events ?? []).map((e) => ({ ...e, offset: e.at_s }))
    .sort((a, b) => a.offset - b.offset);
}

// "agreed", or the whole story when it changed: "agreed, stopped at 00:12, agreed again at 00:20".
function consentSummary(participant) {
  const events = consentEvents().filter((e) => e.participant_id === participant.participant_id);
  const label = participant.role === 'counselor' ? 'own speech captioned' : 'captions and cues';
  if (events.length <= 1) return `${label}: ${consentWord(events[0]?.state ?? participant.consent)}`;
  const steps = events.map((e, i) => {
    const word = { granted: i ? 'agreed again' : 'agreed', declined: 'declined', withdrawn: 'stopped' }[e.state] ?? e.state;
    return i ? `${word} at ${clock(e.offset)}` : word;
  });
  return `${label}: ${steps.join(', ')}`;
}

function renderConsentHistory() {
  const list = document.querySelector('#consent-history');
  if (!list) return;
  const events = consentEvents();
  if (!events.length) {
    list.replaceChildren(el('li', { class: 'muted', text: 'No decisions were recorded.' }));
    return;
  }
  const decided = new Set();
  list.replaceChildren(...events.map((e) => {
    const again = e.state === 'granted' && decided.has(e.participant_id);
    decided.add(e.participant_id);
    const words = again ? 'agreed again to captions and cues' : (CONSENT_EVENT_WORDS[e.state] ?? e.state);
    return el('li', { class: `consent-event consent-${e.state} speaker-${colourOf(e.participant_id)}` },
      el('span', { class: 'cue-time', text: clock(e.offset) }),
      el('span', { class: 'swatch', 'aria-hidden': 'true' }),
      el('span', {}, `${nameOf(e.participant_id)} ${words}`),
      e.version ? el('span', { class: 'muted small-text', text: ` (consent text ${e.version})` }) : null);
  }));
}

// Where someone stopped captions and cues, the transcript says so: the gap that follows is explained.
function consentMarker(event, until) {
  const name = nameOf(event.participant_id);
  const what = event.state === 'declined'
    ? `${name} declined captions and cues: nothing ${name} said is in this transcript`
    : `${name} stopped captions and cues: nothing ${name} said was transcribed`;
  const tail = until == null ? ' from here on.' : ` until ${clock(until)}, when they agreed again.`;
  return el('li', { class: `record-consent speaker-${colourOf(event.participant_id)}`, 'data-consent': event.state },
    el('span', { class: 'line-time', text: clock(event.offset) }), ` ${what}${tail}`);
}

function lineNode(line) {
  const text = el('p', { class: 'line-text', text: line.text });
  const edit = el('button', { type: 'button', class: 'link-button small-text', text: 'Correct',
    'aria-label': `Correct the line at ${clock(line.start_s)}` });
  const node = el('li', { id: `line-${line.line_id}`, class: `record-line speaker-${colourOf(line.participant_id)}`,
    tabindex: '-1' },
  el('div', { class: 'line-head' },
    el('span', { class: 'line-time', text: clock(line.start_s) }),
    el('span', { class: 'line-speaker', text: line.speaker }),
    line.corrected ? el('span', { class: 'badge', text: 'corrected' }) : null,
    edit),
  text,
  line.corrected ? el('details', { class: 'original' }, el('summary', { text: 'Recognised text' }),
    el('p', { text: line.original_text })) : null);
  edit.addEventListener('click', () => startEdit(node, line));
  return node;
}

function startEdit(node, line) {
  const area = el('textarea', { rows: '3', maxlength: '5000', 'aria-label': 'Corrected text' });
  area.value = line.text;
  const error = el('p', { class: 'field-error', role: 'alert', hidden: true });
  const form = el('form', { class: 'edit-form' }, area, error,
    el('div', { class: 'button-row' },
      el('button', { type: 'submit', class: 'primary small', text: 'Save correction' }),
      el('button', { type: 'button', class: 'secondary small', text: 'Cancel',
        onclick: () => { node.replaceWith(lineNode(line)); focusLine(line.line_id); } })));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const saved = await api('PATCH', `${base}/lines/${line.line_id}`, { text: area.value });
      Object.assign(line, saved);
      node.replaceWith(lineNode(line));
      focusLine(line.line_id);
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    }
  });
  form.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') { node.replaceWith(lineNode(line)); focusLine(line.line_id); }
  });
  node.querySelector('.line-text').replaceWith(form);
  area.focus();
}

function renderTranscript() {
  const list = document.querySelector('#transcript');
  if (!record.lines.length) {
    list.replaceChildren(el('li', { class: 'muted', text: 'No transcript was stored for this session.' }));
    return;
  }
  const markers = [];
  const events = consentEvents();
  events.forEach((event, i) => {
    if (event.state !== 'withdrawn' && event.state !== 'declined') return;
    const next = events.slice(i + 1).find((e) => e.participant_id === event.participant_id && e.state === 'granted');
    markers.push({ at: event.offset, node: consentMarker(event, next?.offset) });
  });
  const items = record.lines.map((line) => ({ at: line.start_s, node: lineNode(line) }));
  for (const marker of markers) {
    const index = items.findIndex((item) => item.at > marker.at);
    items.splice(index < 0 ? items.length : index, 0, marker);
  }
  list.replaceChildren(...items.map((item) => item.node));
}

// A private note: its time and text, with Edit and Delete (a delete asks once more, in place).
function noteNode(note) {
  const written = when(note.created_at);
  const node = el('li', { id: `note-${note.note_id}`, class: 'note-item', tabindex: '-1' },
    el('span', { class: 'muted small-text', text: written }),
    el('p', { class: 'note-text', text: note.text }));
  const actions = el('div', { class: 'button-row note-actions' },
    el('button', { type: 'button', class: 'link-button small-text', text: 'Edit',
      'aria-label': `Edit the note from ${written}`, onclick: () => editNote(node, note) }),
    el('button', { type: 'button', class: 'link-button small-text', text: 'Delete',
      'aria-label': `Delete the note from ${written}`, onclick: () => confirmDeleteNote(node, note, actions) }));
  node.append(actions);
  return node;
}

function focusNote(noteId) {
  document.getElementById(`note-${noteId}`)?.focus();
}

function editNote(node, note) {
  const area = el('textarea', { rows: '3', maxlength: '10000', 'aria-label': 'Note text' });
  area.value = note.text;
  const error = el('p', { class: 'field-error', role: 'alert', hidden: true });
  const cancel = () => { renderNotes(); focusNote(note.note_id); };
  const form = el('form', { class: 'edit-form' }, area, error,
    el('div', { class: 'button-row' },
      el('button', { type: 'submit', class: 'primary small', text: 'Save changes' }),
      el('button', { type: 'button', class: 'secondary small', text: 'Cancel', onclick: cancel })));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!area.value.trim()) { error.textContent = 'Write something first, or delete the note.'; error.hidden = false; return; }
    try {
      Object.assign(note, await api('PATCH', `${base}/notes/${note.note_id}`, { text: area.value }));
      cancel();
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    }
  });
  form.addEventListener('keydown', (event) => { if (event.key === 'Escape') cancel(); });
  node.querySelector('.note-text').replaceWith(form);
  node.querySelector('.note-actions').hidden = true;
  area.focus();
}

function confirmDeleteNote(node, note, actions) {
  const error = el('p', { class: 'field-error', role: 'alert', hidden: true });
  const keep = el('button', { type: 'button', class: 'secondary small', text: 'Keep it',
    onclick: () => { renderNotes(); focusNote(note.note_id); } });
  const remove = el('button', { type: 'button', class: 'danger small', text: 'Delete for good',
    onclick: async () => {
      try {
        await api('DELETE', `${base}/notes/${note.note_id}`);
        record.notes = record.notes.filter((n) => n.note_id !== note.note_id);
        renderNotes();
        document.querySelector('#note-text').focus();
      } catch (err) {
        error.textContent = err.message;
        error.hidden = false;
      }
    } });
  const ask = el('div', { class: 'note-confirm', role: 'group', 'aria-label': 'Delete this note?' },
    el('p', { class: 'small-text', text: 'Delete this note for good?' }),
    el('div', { class: 'button-row' }, remove, keep), error);
  actions.replaceWith(ask);
  keep.focus();
}

function renderNotes() {
  const list = document.querySelector('#notes-list');
  if (!record.notes.length) {
    list.replaceChildren(el('li', { class: 'muted small-text', text: 'No notes yet.' }));
    return;
  }
  list.replaceChildren(...record.notes.map(noteNode));
}

function setupNotes() {
  const form = document.querySelector('#note-form');
  const area = document.querySelector('#note-text');
  const error = document.querySelector('#note-error');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    if (!area.value.trim()) { error.textContent = 'Write something first.'; error.hidden = false; return; }
    try {
      record.notes.push(await api('POST', `${base}/notes`, { text: area.value }));
      area.value = '';
      renderNotes();
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    }
  });
}

function setupFind() {
  const input = document.querySelector('#find');
  const statusNode = document.querySelector('#find-status');
  let matches = [];
  let index = -1;
  const update = () => {
    const needle = input.value.trim().toLowerCase();
    matches = [];
    for (const node of document.querySelectorAll('.record-line')) {
      const hit = needle && node.querySelector('.line-text')?.textContent.toLowerCase().includes(needle);
      node.classList.toggle('is-match', Boolean(hit));
      if (hit) matches.push(node);
    }
    index = -1;
    statusNode.textContent = needle ? `${matches.length} matching line${matches.length === 1 ? '' : 's'}` : '';
  };
  input.addEventListener('input', update);
  document.querySelector('#find-form').addEventListener('submit', (event) => {
    event.preventDefault();
    if (!matches.length) return;
    index = (index + 1) % matches.length;
    focusLine(matches[index].id.slice(5));
    statusNode.textContent = `Match ${index + 1} of ${matches.length}`;
  });
}

function setupDelete() {
  const dialog = document.querySelector('#delete-dialog');
  document.querySelector('#delete-session').addEventListener('click', () => dialog.showModal());
  document.querySelector('#delete-cancel').addEventListener('click', () => dialog.close());
  document.querySelector('#delete-confirm').addEventListener('click', async () => {
    await api('DELETE', base);
    location.assign('/records');
  });
}

async function main() {
  await setupTopbar();
  const status = document.querySelector('#load-status');
  try {
    record = await api('GET', base);
  } catch (err) {
    status.textContent = err.status === 404 ? 'There is no such session record (it may have been deleted).'
      : err.message;
    return;
  }
  const ids = record.participants.map((p) => p.participant_id);
  colourOf = (pid) => (ids.indexOf(pid) < 0 ? ids.length : ids.indexOf(pid)) % 6;
  renderHeader();
  renderChart();
  renderTalkTime();
  renderListening();
  renderCues();
  renderConsentHistory();
  renderTranscript();
  renderNotes();
  setupNotes();
  setupFind();
  setupDelete();
  status.hidden = true;
  document.querySelector('#record').hidden = false;
  const target = location.hash.match(/^#line-(\d+)$/);
  if (target) focusLine(target[1]);
}

main();
