// The counselor's private insight panel: urgent alerts, cues with their evidence, and quiet live
// context (tone of words, talk time, voice and camera status, the counselor's own listening).
// Everything comes from the counselor-only channel (docs/protocol.md, "The counselor channel"); the
// page forwards those events to `insights.handle`. Nothing here is built until the first event, so
// a client's page, which never gets that channel, never has any of it in its DOM.
//
// Calm by design: values update in place (no re-rendering, no animation), cues are worded as prompts
// for attention, and only urgent alerts interrupt (a banner that stays until acknowledged).
import { formatOffset } from './captions.js';
import { baseKind, kindLabel, listeningSentences } from './labels.js';
import { el } from './ui.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const MAX_CUES = 60;
const MAX_POINTS = 80;
const VIDEO_STALE_MS = 6000;
const PITCH_REF_HZ = 100;  // as analysis/voice.py: pitch is compared in semitones re 100 Hz

// Evidence keys in plain words; the value formatting follows the key's unit suffix.
const EVIDENCE_LABELS = {
  line: 'Line', phrase: 'Phrase', category: 'Topic', frame: 'How it was said', rule: 'Matched rule',
  since_s: 'Since', until_s: 'Until', duration_s: 'For about', window_s: 'Looked at the last',
  window_start_s: 'From', window_end_s: 'To', window_speech_s: 'Speech in that stretch',
  yaw_offset_deg: 'Head turned (from their usual)', pitch_offset_deg: 'Head tilted (from their usual)',
  motion_level: 'Recent head movement', baseline: 'Their usual', unit: 'Unit',
  recent_mean: 'Recent tone', baseline_mean: 'Earlier tone', recent_lines: 'Recent lines', direction: 'Direction',
  latency_s: 'Pause before answering', usual_latency_s: 'Their usual pause', silence_s: 'Silence',
  share: 'Share', feature: 'Measure', value: 'Now', baseline_median: 'Their usual', baseline_mad: 'Usual spread',
  baseline_windows: 'Stretches in their usual', change: 'Change', change_kind: 'Change is', z: 'Distance from usual (z)',
  value_hz: 'Now (Hz)', baseline_hz: 'Their usual (Hz)', others_speech_s: 'Others spoke for',
  tense_share: 'Tense-looking share', tense_labels: 'Counted as tense', reliability: 'Reliability',
  expression: 'Expression estimate', interrupted: 'Talked over', compound: 'tone', lines: 'Lines that stood out',
  baseline_lines: 'Earlier lines', delta: 'Change in tone', threshold: 'Shown from a change of',
};
const CLOCK_KEYS = new Set(['since_s', 'until_s', 'window_start_s', 'window_end_s', 'at_s']);

const VIDEO_WORDS = {
  waiting: 'Waiting for the camera picture…',
  stale: 'No camera picture for analysis just now',
  present: 'Face in view',
  absent: 'Face not in view',
  off: 'Camera turned off (video cues paused)',
};

const isNumber = (v) => typeof v === 'number' && Number.isFinite(v);

function humanize(key) {
  const text = String(key).replace(/_/g, ' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function formatSeconds(s) {
  if (s >= 120) return `${Math.round(s / 60)} min`;
  return `${s >= 10 ? Math.round(s) : Math.round(s * 10) / 10} s`;
}

function formatNumber(v) {
  if (Number.isInteger(v)) return String(v);
  return String(Math.round(v * 100) / 100);
}

function formatPercent(v) {
  return `${Math.round(v * 100)}%`;
}

// Sentiment compound in words, deliberately soft: it describes words, not the person.
function toneWords(compound) {
  if (!isNumber(compound)) return 'no reading';
  if (compound <= -0.5) return 'clearly negative';
  if (compound <= -0.15) return 'somewhat negative';
  if (compound < 0.15) return 'neutral';
  if (compound < 0.5) return 'somewhat positive';
  return 'clearly positive';
}

export class InsightsPanel {
  constructor() {
    this.built = false;
    this.people = new Map();       // participant_id -> {name, role}
    this.cards = new Map();        // participant_id -> card parts (clients)
    this.sentiment = new Map();    // participant_id -> [{at_s, compound}]
    this.video = new Map();        // participant_id -> {state, at}
    this.lines = [];               // transcript_line events, with the list items that show them
    this.cues = [];                // newest first: {cue, item, showLine}
    this.muted = new Set();
    this.pendingMutes = new Set();
    this.alertCount = 0;
    this.sender = null;
    this.staleTimer = 0;
  }

  // The page's socket sender; until the page wires one, the panel uses the page's own signaling.
  setSender(send) {
    this.sender = send;
  }

  send(message) {
    if (this.sender) return this.sender(message);
    return window.attuneDebug?.app?.signaling?.send(message) ?? false;
  }

  handle(event) {
    if (!event || typeof event.kind !== 'string') return;
    if (!this.built && !this.build()) return;
    switch (event.kind) {
      case 'consent_state':
        for (const p of event.participants ?? []) this.learnPerson(p.participant_id, p.name, p.role);
        this.refreshNames();
        break;
      case 'transcript_line': this.onTranscriptLine(event); break;
      case 'cue': this.addCue(event.cue ?? {}); break;
      case 'alert': this.addAlert(event.cue ?? {}); break;
      case 'sentiment': this.onSentiment(event); break;
      case 'conversation': this.onConversation(event); break;
      case 'voice_state': this.onVoice(event); break;
      case 'video_state': this.onVideo({ participant_id: event.participant_id, ...event.features }); break;
      case 'camera_state': this.onCamera(event); break;
      case 'listening': this.onListening(event); break;
      case 'muted_kinds': this.onMuted(event.kinds ?? []); break;
      default: break;
    }
  }

  // ---------- structure ----------
  build() {
    const root = document.getElementById('panel-insights');
    if (!root) return false;
    this.root = root;
    this.alerts = document.getElementById('insight-alerts');
    this.tab = document.getElementById('tab-insights');
    this.badge = document.getElementById('insights-badge');

    this.cueList = el('ul', { class: 'plain-list insight-cues', id: 'insight-cues', 'aria-live': 'polite',
      'aria-relevant': 'additions', 'aria-labelledby': 'insight-cues-heading' });
    this.cueEmpty = el('p', { class: 'muted', id: 'insight-cues-empty', text: 'Nothing to note right now.' });
    this.mutedBox = el('div', { class: 'insight-muted', id: 'insight-muted', hidden: true });
    this.talkBox = el('div', { class: 'talk-bars', id: 'insight-talk' },
      el('p', { class: 'muted', text: 'Shown once someone has spoken.' }));
    this.talkNotes = el('ul', { class: 'plain-list insight-notes', id: 'insight-talk-notes' });
    this.peopleBox = el('div', { id: 'insight-people' });
    this.listeningBox = el('div', { id: 'insight-listening' },
      el('p', { class: 'muted', text: 'Counted from your own captioned speech, when it is on.' }));

    root.replaceChildren(
      el('p', { class: 'hint insight-intro', text: 'Only you see this. Cues are prompts for your attention, never judgements about anyone.' }),
      el('section', { class: 'panel-section', 'aria-labelledby': 'insight-cues-heading' },
        el('h2', { id: 'insight-cues-heading', tabindex: '-1', text: 'Cues' }),
        this.cueList, this.cueEmpty, this.mutedBox),
      el('section', { class: 'panel-section', 'aria-labelledby': 'insight-talk-heading' },
        el('h2', { id: 'insight-talk-heading', text: 'Talk time' }),
        this.talkBox, this.talkNotes),
      this.peopleBox,
      el('section', { class: 'panel-section', 'aria-labelledby': 'insight-listening-heading' },
        el('h2', { id: 'insight-listening-heading', text: 'Your listening' }),
        this.listeningBox),
    );
    if (this.tab && this.badge) {
      // The "new" dot goes once the counselor opens the tab.
      new MutationObserver(() => {
        if (this.tab.getAttribute('aria-selected') === 'true') this.badge.hidden = true;
      }).observe(this.tab, { attributes: true, attributeFilter: ['aria-selected'] });
    }
    this.staleTimer = setInterval(() => this.checkVideoStale(), 2000);
    this.built = true;
    return true;
  }

  learnPerson(pid, name, role) {
    if (!pid) return;
    const known = this.people.get(pid) ?? {};
    this.people.set(pid, { name: name || known.name || '', role: role || known.role || '' });
  }

  isCounselor(pid) {
    return this.people.get(pid)?.role === 'counselor';
  }

  nameOf(pid, fallback = '') {
    if (pid === 'session') return 'Everyone';
    if (this.isCounselor(pid)) return 'You';
    return this.people.get(pid)?.name || fallback || 'Someone';
  }

  refreshNames() {
    for (const [pid, card] of this.cards) card.heading.textContent = this.nameOf(pid);
  }

  markNew() {
    if (this.badge && this.tab?.getAttribute('aria-selected') !== 'true') this.badge.hidden = false;
  }

  // ---------- per-client cards: tone of words, voice, camera ----------
  card(pid) {
    let card = this.cards.get(pid);
    if (card) return card;
    const headingId = `insight-person-${pid}`;
    const heading = el('h2', { id: headingId, text: this.nameOf(pid) });
    const chart = el('div', { class: 'tone-chart', dataset: { participant: pid } });
    const toneText = el('p', { class: 'small-text muted tone-text', text: 'Tone of words: no lines yet.' });
    const voice = el('dl', { class: 'insight-facts voice-facts', dataset: { participant: pid } },
      el('dt', { text: 'Voice' }), el('dd', { class: 'voice-learning', text: 'Waiting for speech…' }));
    const camera = el('p', { class: 'camera-status', dataset: { participant: pid, state: 'waiting' } },
      el('span', { class: 'fact-label', text: 'Camera: ' }), el('span', { class: 'camera-words', text: VIDEO_WORDS.waiting }));
    const section = el('section', { class: 'panel-section insight-person', 'aria-labelledby': headingId,
      dataset: { participant: pid } }, heading, chart, toneText, voice, camera);
    card = { section, heading, chart, toneText, voice, camera };
    this.cards.set(pid, card);
    this.peopleBox.append(section);
    return card;
  }

  onSentiment(event) {
    const pid = event.participant_id;
    if (!pid || !isNumber(event.compound)) return;
    const points = this.sentiment.get(pid) ?? [];
    points.push({ at_s: Number(event.at_s) || 0, compound: Math.max(-1, Math.min(1, event.compound)) });
    if (points.length > MAX_POINTS) points.splice(0, points.length - MAX_POINTS);
    this.sentiment.set(pid, points);
    if (this.isCounselor(pid)) return;  // the counselor's own tone is not charted
    const card = this.card(pid);
    card.chart.replaceChildren(toneChart(points, this.nameOf(pid)));
    const recent = points.slice(-3);
    const mean = recent.reduce((a, p) => a + p.compound, 0) / recent.length;
    card.toneText.textContent = `Tone of words lately: ${toneWords(mean)} (${points.length} line${points.length === 1 ? '' : 's'}).`;
  }

  onVoice(event) {
    const pid = event.participant_id;
    if (!pid || this.isCounselor(pid)) return;
    const card = this.card(pid);
    const rows = event.baseline_ready ? voiceComparison(event.features ?? {}, event.baseline ?? {}) : null;
    card.voice.dataset.ready = String(Boolean(rows));
    if (!rows) {
      if (card.voice.dataset.shown !== 'learning') {
        card.voice.replaceChildren(el('dt', { text: 'Voice' }),
          el('dd', { class: 'voice-learning', text: 'Learning this person\'s usual voice…' }));
        card.voice.dataset.shown = 'learning';
      }
      return;
    }
    // Update in place once the rows exist, so nothing re-renders every two seconds.
    if (card.voice.dataset.shown !== 'compare') {
      card.voice.replaceChildren(...rows.flatMap((row) => [
        el('dt', { text: row.label }), el('dd', { dataset: { measure: row.key }, text: row.text })]));
      card.voice.dataset.shown = 'compare';
      return;
    }
    for (const row of rows) {
      const dd = card.voice.querySelector(`dd[data-measure="${row.key}"]`);
      if (dd && dd.textContent !== row.text) dd.textContent = row.text;
    }
  }

  // The client pressed Stop camera (or Start camera): their video cues pause meanwhile, and the card says
  // why nothing about their face is shown.
  onCamera(event) {
    const pid = event.participant_id;
    if (!pid) return;
    const card = this.card(pid);
    this.video.delete(pid);
    this.setCamera(card, event.camera_on ? 'waiting' : 'off');
  }

  onVideo(event) {
    const pid = event.participant_id;
    if (!pid) return;
    const card = this.card(pid);
    let state = card.camera.dataset.state;
    if (state === 'off') return;  // a frame analysed just before the camera went off
    if (event.face_present) state = 'present';
    else if (event.face_absent) state = 'absent';
    else if (state === 'waiting' || state === 'stale') state = 'absent';
    // A face lost for a frame or two keeps its last words until the engine calls it absent.
    const extras = [];
    if (state === 'present' && event.looking_away) extras.push('looking away from the camera');
    if (state === 'present' && event.restless) extras.push('moving more than earlier');
    this.video.set(pid, { at: Date.now() });
    this.setCamera(card, state, extras);
  }

  setCamera(card, state, extras = []) {
    const words = [VIDEO_WORDS[state], ...extras].join(', ');
    card.camera.dataset.state = state;
    const target = card.camera.querySelector('.camera-words');
    if (target.textContent !== words) target.textContent = words;
  }

  checkVideoStale() {
    const now = Date.now();
    for (const [pid, info] of this.video) {
      const card = this.cards.get(pid);
      if (card && now - info.at > VIDEO_STALE_MS && card.camera.dataset.state !== 'stale') this.setCamera(card, 'stale');
    }
  }

  // ---------- talk time ----------
  onConversation(event) {
    const participants = event.participants ?? [];
    if (!participants.length) return;
    for (const p of participants) this.learnPerson(p.participant_id, '', p.role);
    const ordered = [...participants].sort((a, b) => (a.role === 'counselor') - (b.role === 'counselor'));
    const rows = ordered.map((p) => {
      const share = isNumber(p.share) ? p.share : 0;
      const recent = isNumber(p.recent_share) ? p.recent_share : null;
      const label = this.nameOf(p.participant_id);
      const detail = recent === null ? formatPercent(share) : `${formatPercent(share)} overall · ${formatPercent(recent)} lately`;
      return el('div', { class: `talk-row${p.role === 'counselor' ? ' is-you' : ''}`, dataset: { participant: p.participant_id, share: share.toFixed(3) } },
        el('div', { class: 'talk-label' }, el('span', { class: 'talk-name', text: label }), el('span', { class: 'talk-share', text: detail })),
        el('div', { class: 'talk-bar', 'aria-hidden': 'true' }, bar(share)));
    });
    if (!participants.some((p) => p.role === 'counselor')) {
      rows.push(el('p', { class: 'hint', text: 'Your own share shows when your speech is captioned.' }));
    }
    this.talkBox.replaceChildren(...rows);
    this.talkNotes.replaceChildren(...this.conversationNotes(event, participants).map((text) => el('li', { text })));
  }

  // Plain sentences for family sessions: who has been quiet, who tends to speak after whom.
  conversationNotes(event, participants) {
    const clients = participants.filter((p) => p.role !== 'counselor');
    const notes = [];
    if (clients.length < 2) return notes;
    for (const pid of event.silent_participant_ids ?? []) {
      notes.push(`${this.nameOf(pid)} has not spoken for a while.`);
    }
    const transitions = event.transitions ?? {};
    for (const client of clients) {
      let best = null;
      for (const [source, row] of Object.entries(transitions)) {
        const count = row?.[client.participant_id] ?? 0;
        if (source !== client.participant_id && count >= 2 && (!best || count > best.count)) best = { source, count };
      }
      if (best) {
        const after = this.isCounselor(best.source) ? 'you' : this.nameOf(best.source);
        notes.push(`${this.nameOf(client.participant_id)} mostly speaks after ${after}.`);
      }
    }
    return notes;
  }

  // ---------- the counselor's own listening ----------
  onListening(event) {
    const counts = [
      ['Open questions', event.open_question],
      ['Closed questions', event.closed_question],
      ['Reflections', event.reflection],
    ];
    const stats = el('ul', { class: 'plain-list listening-stats' },
      ...counts.map(([label, n]) => el('li', { dataset: { measure: label } },
        el('span', { class: 'stat-number', text: String(isNumber(n) ? n : 0) }), el('span', { class: 'stat-label', text: label }))));
    const notes = listeningSentences(event).map((text) => el('p', { class: 'small-text muted listening-note', text }));
    this.listeningBox.replaceChildren(stats, ...notes);
  }

  // ---------- transcript: markers and jumps ----------
  onTranscriptLine(event) {
    this.learnPerson(event.participant_id, event.name, event.role);
    // A sentence arrives again as it grows and when it closes: the newest version replaces the old one.
    const known = this.lines.findIndex((l) => l.line_id === event.line_id);
    const line = { ...event, items: this.findTranscriptItems(event) };
    if (known >= 0) this.lines[known] = line; else this.lines.push(line);
    if (this.lines.length > 2000) this.lines.splice(0, 500);
    if (event.risk) {
      for (const item of line.items) markRiskLine(item, event.risk);
    }
    for (const entry of this.cues) if (entry.showLine.hidden && this.lineFor(entry.cue)) entry.showLine.hidden = false;
    for (const button of this.alerts?.querySelectorAll('button[data-action="show-line"][hidden]') ?? []) {
      if (this.lineFor(JSON.parse(button.dataset.cue))) button.hidden = false;
    }
  }

  // The Transcript tab's list item for this sentence.
  findTranscriptItems(line) {
    const list = document.getElementById('transcript-list');
    if (!list) return [];
    return [...list.querySelectorAll(`li[data-line-id="${CSS.escape(String(line.line_id ?? ''))}"]`)];
  }

  // The transcript line a cue refers to: the same speaker's line ending at the cue (text cues), or the
  // one being spoken around the cue's time.
  lineFor(cue) {
    if (cue.line_id != null) {
      const exact = this.lines.find((l) => l.line_id === cue.line_id && l.items.some((i) => i.isConnected));
      if (exact) return exact;
    }
    const at = Number(cue.at_s);
    if (!isNumber(at)) return null;
    let best = null;
    let bestDistance = Infinity;
    for (const line of this.lines) {
      if (line.participant_id !== cue.participant_id || !line.items.some((i) => i.isConnected)) continue;
      const distance = at < line.start_s ? line.start_s - at : at > line.end_s ? at - line.end_s : 0;
      if (distance < bestDistance) { best = line; bestDistance = distance; }
    }
    return best && bestDistance <= 5 ? best : null;
  }

  showLine(cue) {
    const line = this.lineFor(cue);
    const item = line?.items.find((i) => i.isConnected);
    if (!item) return;
    document.getElementById('tab-transcript')?.click();
    for (const old of document.querySelectorAll('.transcript-line.is-target')) old.classList.remove('is-target');
    item.classList.add('is-target');
    item.tabIndex = -1;
    item.scrollIntoView({ block: 'center' });
    item.focus({ preventScroll: true });
  }

  // ---------- cues ----------
  // `acknowledgedAt`: an urgent alert the counselor acknowledged, kept in the history.
  addCue(cue, { acknowledgedAt = '' } = {}) {
    if (!cue.sentence) return;
    this.learnPerson(cue.participant_id, cue.name, '');
    const kind = String(cue.kind ?? '');
    const ended = kind.endsWith('.ended');
    const severity = acknowledgedAt ? 'urgent' : ended ? 'ended' : (cue.severity === 'notice' ? 'notice' : 'info');
    const setAside = baseKind(kind) === 'words.risk_set_aside';  // a rule hit the model judged very unlikely
    const tag = setAside ? 'set aside, no alert'
      : { urgent: `urgent alert, acknowledged ${acknowledgedAt}`, notice: 'worth a look', ended: 'ended' }[severity];
    const showLine = el('button', { type: 'button', class: 'secondary small', dataset: { action: 'show-line' },
      onclick: () => this.showLine(cue), text: 'Show in transcript' });
    showLine.hidden = !this.lineFor(cue);
    const mute = el('button', { type: 'button', class: 'ghost small mute-kind', dataset: { action: 'mute', kind: baseKind(kind) },
      onclick: () => this.setMuted(baseKind(kind), !this.muted.has(baseKind(kind))) });
    const evidence = cue.evidence && typeof cue.evidence === 'object' ? cue.evidence : {};
    const quote = (kind === 'words.risk' || setAside) && evidence.line
      ? el('blockquote', { class: 'cue-quote', text: evidence.line }) : null;
    const item = el('li', { class: `insight-cue sev-${severity}`, dataset: { kind, participant: cue.participant_id ?? '' } },
      el('details', {},
        el('summary', {},
          el('span', { class: 'cue-meta' },
            el('span', { class: 'cue-time', text: formatOffset(cue.at_s) }),
            el('span', { class: 'cue-who', text: this.nameOf(cue.participant_id, cue.name) }),
            tag ? el('span', { class: `cue-tag tag-${severity}`, text: tag }) : null,
            el('span', { class: 'cue-tag tag-muted', text: 'muted' })),
          el('span', { class: 'cue-sentence', text: cue.sentence })),
        el('div', { class: 'cue-body' },
          quote,
          el('p', { class: 'small-text muted cue-kind', text: kindLabel(kind) }),
          evidenceList(evidence, (pid) => this.nameOf(pid)),
          el('div', { class: 'button-row compact' }, showLine, severity === 'urgent' ? null : mute))));
    const entry = { cue, item, showLine, mute };
    this.cues.unshift(entry);
    this.cueList.prepend(item);
    while (this.cues.length > MAX_CUES) this.cues.pop().item.remove();
    this.cueEmpty.hidden = true;
    this.renderMuteButton(entry);
    this.markNew();
  }

  setMuted(kind, muted) {
    // Each cue kind has an ".ended" companion ("face visible again"); muting one mutes both.
    this.pendingMutes.add(kind);
    this.send({ type: 'cue_mute', kind, muted });
    this.send({ type: 'cue_mute', kind: `${kind}.ended`, muted });
    for (const entry of this.cues) this.renderMuteButton(entry);
    // The button waits for the server's `muted_kinds`; if that never comes (socket down), free it again.
    setTimeout(() => {
      if (this.pendingMutes.delete(kind)) for (const entry of this.cues) this.renderMuteButton(entry);
    }, 5000);
  }

  onMuted(kinds) {
    this.muted = new Set(kinds.map(baseKind));
    this.pendingMutes.clear();
    for (const entry of this.cues) this.renderMuteButton(entry);
    const sorted = [...this.muted].sort();
    this.mutedBox.hidden = sorted.length === 0;
    this.mutedBox.replaceChildren(
      el('h3', { text: 'Muted for this session' }),
      el('ul', { class: 'plain-list muted-kinds' }, ...sorted.map((kind) => el('li', { dataset: { kind } },
        el('span', { text: kindLabel(kind) }),
        el('button', { type: 'button', class: 'ghost small', 'aria-label': `Unmute: ${kindLabel(kind)}`,
          onclick: () => this.setMuted(kind, false), text: 'Unmute' })))),
      el('p', { class: 'hint', text: 'Urgent alerts always come through.' }));
  }

  renderMuteButton(entry) {
    const kind = entry.mute.dataset.kind;
    const muted = this.muted.has(kind);
    const pending = this.pendingMutes.has(kind);
    entry.item.classList.toggle('is-muted', muted);
    entry.mute.setAttribute('aria-pressed', String(muted));
    entry.mute.disabled = pending;
    // The visible words start the accessible name (WCAG 2.5.3); the kind makes it unique in the list.
    const label = muted ? 'Unmute this kind' : 'Mute this kind';
    entry.mute.textContent = label;
    entry.mute.setAttribute('aria-label', `${label}: ${kindLabel(kind)}`);
  }

  // ---------- urgent alerts ----------
  addAlert(cue) {
    if (!cue.sentence) return;
    this.learnPerson(cue.participant_id, cue.name, '');
    this.alertCount += 1;
    const id = `insight-alert-${this.alertCount}`;
    const evidence = cue.evidence && typeof cue.evidence === 'object' ? cue.evidence : {};
    const lead = String(cue.sentence).split(/:\s*\u201c/)[0];
    const quoteText = evidence.line || (String(cue.sentence).match(/\u201c(.*)\u201d/)?.[1] ?? '');
    const who = this.nameOf(cue.participant_id, cue.name);
    const showLine = el('button', { type: 'button', class: 'secondary small', dataset: { action: 'show-line', cue: JSON.stringify({ at_s: cue.at_s, participant_id: cue.participant_id, line_id: cue.line_id ?? null }) },
      onclick: () => this.showLine(cue), text: 'Show in transcript' });
    showLine.hidden = !this.lineFor(cue);
    const banner = el('div', { class: 'insight-alert', id, role: 'alert', dataset: { participant: cue.participant_id ?? '' } },
      el('p', { class: 'alert-title' }, el('span', { class: 'alert-tag', text: 'Urgent' }), lead),
      el('p', { class: 'alert-meta', text: `${who} · ${formatOffset(cue.at_s)}` }),
      quoteText ? el('blockquote', { class: 'alert-quote', text: quoteText }) : null,
      el('div', { class: 'button-row compact' },
        el('button', { type: 'button', class: 'primary small', dataset: { action: 'acknowledge' },
          onclick: () => this.acknowledge(banner, cue) }, 'Acknowledge'),
        showLine));
    this.alerts.hidden = false;
    this.alerts.append(banner);
    // An urgent alert must be seen even if the counselor had hidden the side panel.
    const panel = document.getElementById('side-panel');
    if (panel?.classList.contains('collapsed')) document.getElementById('panel-toggle')?.click();
  }

  acknowledge(banner, cue) {
    banner.remove();
    const remaining = this.alerts.querySelector('.insight-alert button[data-action="acknowledge"]');
    this.alerts.hidden = !remaining;
    // The alert stays in the cue history, marked as acknowledged (urgent alerts cannot be muted).
    this.addCue(cue, { acknowledgedAt: new Date().toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) });
    // Keep keyboard focus somewhere sensible instead of losing it with the removed banner.
    (remaining ?? document.getElementById('insight-cues-heading'))?.focus({ preventScroll: !remaining });
  }
}

// The page's CSP forbids style attributes in markup; setting the CSSOM property is allowed.
function bar(share) {
  const fill = el('span');
  fill.style.width = `${Math.round(Math.max(0, Math.min(1, share)) * 100)}%`;
  return fill;
}

function markRiskLine(item, risk) {
  if (item.classList.contains('line-urgent') || (item.classList.contains('line-noted') && risk !== 'urgent')) return;
  item.querySelector('.line-marker')?.remove();
  item.classList.remove('line-notice');
  item.classList.add('line-noted', `line-${risk === 'urgent' ? 'urgent' : 'notice'}`);
  item.prepend(el('span', { class: 'line-marker', title: risk === 'urgent' ? 'Urgent alert on this line' : 'A cue noted this line' },
    el('span', { 'aria-hidden': 'true', text: risk === 'urgent' ? '!' : '•' }),
    el('span', { class: 'visually-hidden', text: risk === 'urgent' ? 'Urgent alert on this line: ' : 'Noted line: ' })));
}

// Voice features compared with the speaker's own baseline, in words. Thresholds are half and all of
// the analysis engine's minimum effects (analysis/voice.py), so "a little" starts well before a cue.
function voiceComparison(features, baseline) {
  const median = (key) => (isNumber(baseline?.[key]?.median) ? baseline[key].median : null);
  // [key, label, value now, usual value, minimum effect, relative?, words for more, words for less]
  const pitchSt = isNumber(features.pitch_hz) && features.pitch_hz > 0 ? 12 * Math.log2(features.pitch_hz / PITCH_REF_HZ) : null;
  const measures = [
    ['pace', 'Pace', features.syllables_per_s, median('syllables_per_s'), 0.2, true, (a) => `${a}faster`, (a) => `${a}slower`],
    ['pitch', 'Pitch', pitchSt, median('pitch_st'), 3, false, (a) => `${a}higher`, (a) => `${a}lower`],
    ['loudness', 'Loudness', features.loudness_dbfs, median('loudness_dbfs'), 4, false, (a) => `${a}louder`, (a) => `${a}quieter`],
    ['pauses', 'Pauses', features.pause_share, median('pause_share'), 0.12, false,
      (a) => `pausing ${a}more`, (a) => `pausing ${a}less`],
  ];
  return measures.map(([key, label, value, usual, step, relative, more, less]) => {
    let text = 'not enough speech just now';
    if (isNumber(value) && isNumber(usual)) {
      const change = relative ? (usual ? value / usual - 1 : 0) : value - usual;
      const size = Math.abs(change);
      const amount = size < step ? 'a little ' : '';
      text = size < step / 2 ? 'about as earlier' : `${(change > 0 ? more : less)(amount)} than earlier`;
    }
    return { key, label, text };
  });
}

// A small inline SVG of the tone of each line (VADER compound, -1..1) over session time, with a
// 3-line running mean so single lines do not dominate. Dots are zero-length round-capped strokes so
// they stay round although the drawing stretches to the panel's width.
function toneChart(points, name) {
  const width = 300;
  const height = 64;
  const pad = 6;
  const t0 = points[0].at_s;
  const t1 = Math.max(points[points.length - 1].at_s, t0 + 60);
  const x = (t) => pad + ((t - t0) / (t1 - t0)) * (width - 2 * pad);
  const y = (v) => height / 2 - v * (height / 2 - pad);
  const svg = document.createElementNS(SVG_NS, 'svg');
  const latest = points[points.length - 1];
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `Tone of ${name}'s words over time: ${points.length} lines, the latest ${toneWords(latest.compound)}.`);
  const add = (tag, attrs) => {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    svg.append(node);
    return node;
  };
  add('rect', { x: 0, y: 0, width, height: height / 2, class: 'tone-band-positive' });
  add('rect', { x: 0, y: height / 2, width, height: height / 2, class: 'tone-band-negative' });
  add('line', { x1: 0, x2: width, y1: height / 2, y2: height / 2, class: 'tone-zero' });
  const smooth = points.map((p, i) => {
    const window = points.slice(Math.max(0, i - 2), i + 1);
    return { at_s: p.at_s, v: window.reduce((a, q) => a + q.compound, 0) / window.length };
  });
  if (smooth.length > 1) {
    add('polyline', { points: smooth.map((p) => `${x(p.at_s).toFixed(1)},${y(p.v).toFixed(1)}`).join(' '), class: 'tone-line' });
  }
  for (const p of points) {
    add('path', { d: `M ${x(p.at_s).toFixed(1)} ${y(p.compound).toFixed(1)} h 0`, class: 'tone-point', 'data-point': p.compound });
  }
  const wrap = el('div', { class: 'tone-chart-frame' },
    el('span', { class: 'tone-axis tone-axis-top', 'aria-hidden': 'true', text: 'more positive' }),
    el('span', { class: 'tone-axis tone-axis-bottom', 'aria-hidden': 'true', text: 'more negative' }));
  wrap.prepend(svg);
  return wrap;
}

function evidenceValue(key, value, nameOf) {
  if (value === null || value === undefined) return '—';
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) return value.map((v) => evidenceValue(key, v, nameOf)).join(', ');
    return el('ul', { class: 'plain-list evidence-nested' }, ...value.map((v) => el('li', {}, evidenceItem(v, nameOf))));
  }
  if (typeof value === 'object') {
    // Keys that are participant ids ("interrupted": {pid: n}) read as names.
    const entries = Object.entries(value).map(([k, v]) => [/^p-/.test(k) ? nameOf(k) : k, v]);
    if (entries.every(([, v]) => v === null || typeof v !== 'object')) {
      // Small flat maps on one line: "Sam 2 · Alex 1"; expression class probabilities as percentages.
      const show = (v) => (key === 'expression' && isNumber(v) ? formatPercent(v) : evidenceValue('', v, nameOf));
      return entries.map(([k, v]) => `${k} ${show(v)}`).join(' · ');
    }
    return evidenceList(Object.fromEntries(entries), nameOf, key);
  }
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (!isNumber(value)) return String(value);
  if (CLOCK_KEYS.has(key)) return formatOffset(value);
  if (key.endsWith('_s')) return formatSeconds(value);
  if (key.endsWith('_deg')) return `${Math.round(value)}°`;
  if (key === 'share' || key.endsWith('_share')) return formatPercent(value);
  return formatNumber(value);
}

// One entry of a list in the evidence, on one line: a quoted line with its time, or "key value" pairs.
function evidenceItem(value, nameOf) {
  if (value === null || typeof value !== 'object') return String(value);
  const { text, at_s: at, ...rest } = value;
  const others = Object.entries(rest).map(([k, v]) => `${(EVIDENCE_LABELS[k] ?? humanize(k)).toLowerCase()} ${evidenceValue(k, v, nameOf)}`);
  return el('span', { class: 'evidence-item' },
    isNumber(at) ? el('span', { class: 'cue-time', text: `${formatOffset(at)} ` }) : null,
    text !== undefined ? el('q', { text: String(text) }) : null,
    others.length ? el('span', { class: 'muted', text: `${text !== undefined ? ' (' : ''}${others.join(', ')}${text !== undefined ? ')' : ''}` }) : null);
}

function evidenceList(evidence, nameOf, parentKey = '') {
  const entries = Object.entries(evidence ?? {});
  if (!entries.length) return el('p', { class: 'small-text muted', text: 'No further detail.' });
  return el('dl', { class: 'evidence' }, ...entries.flatMap(([key, value]) => {
    // Lists of lines take the full width under their label.
    const wide = Array.isArray(value) && value.some((v) => v !== null && typeof v === 'object');
    return [
      el('dt', { class: wide ? 'wide' : null, text: EVIDENCE_LABELS[key] ?? (parentKey === 'expression' ? key : humanize(key)) }),
      el('dd', { class: wide ? 'wide' : null }, evidenceValue(key, value, nameOf)),
    ];
  }));
}

export const insights = new InsightsPanel();
