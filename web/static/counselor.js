// The counselor's side panel: invite link, waiting room, who is here and what each person agreed to,
// and the transcript. Everything here comes from the private `counselor` channel, which the server
// sends to counselor sockets only.
import { formatOffset } from './captions.js';
import { insights } from './panel.js';
import { copyText, el } from './ui.js';

const CONSENT_TEXT = {
  granted: 'Captions and cues: agreed',
  declined: 'Captions and cues: declined',
  withdrawn: 'Captions and cues: stopped',
  pending: 'Captions and cues: not answered yet',
};
const SELF_CAPTION_TEXT = {
  granted: 'Own speech captioned',
  declined: 'Own speech not captioned',
  withdrawn: 'Own speech not captioned',
  pending: 'Own speech not captioned',
};
const UPLINK_TEXT = { connecting: 'Analysis: connecting', connected: 'Analysis: receiving', closed: 'Analysis: off' };
const STATE_TEXT = { waiting: 'Waiting', admitted: 'In the call', reconnecting: 'Reconnecting', left: 'Left' };

export class CounselorPanel {
  constructor({ root, onAdmit, onDecline, onWaitingChange, myId }) {
    this.root = root;
    this.onAdmit = onAdmit;
    this.onDecline = onDecline;
    this.onWaitingChange = onWaitingChange;
    this.myId = myId;
    this.waiting = [];
    this.consent = new Map();
    this.uplinks = new Map();
    this.roster = [];
    this.transcriptKeys = new Set();
    this.waitingList = root.querySelector('#waiting-list');
    this.waitingEmpty = root.querySelector('#waiting-empty');
    this.peopleList = root.querySelector('#people-list');
    this.transcriptList = document.querySelector('#transcript-list');
    this.transcriptEmpty = document.querySelector('#transcript-empty');
    const copy = root.querySelector('#invite-copy');
    copy.addEventListener('click', () => copyText(root.querySelector('#invite-link').value, copy));
  }

  setInviteUrl(url) {
    const box = this.root.querySelector('#invite-section');
    box.hidden = !url;
    if (url) this.root.querySelector('#invite-link').value = url;
  }

  handle(event) {
    switch (event.kind) {
      case 'lobby':
        this.waiting = event.waiting ?? [];
        this.renderWaiting();
        this.onWaitingChange?.(this.waiting);
        break;
      case 'consent_state':
        for (const p of event.participants ?? []) this.consent.set(p.participant_id, p);
        this.renderPeople();
        break;
      case 'uplink_state':
        this.uplinks.set(event.participant_id, event.state);
        this.renderPeople();
        break;
      case 'transcript_line':
        this.addTranscript(event);
        break;
      default:
        break;
    }
    insights.handle(event);
  }

  setRoster(participants) {
    this.roster = participants;
    this.renderPeople();
  }

  renderWaiting() {
    this.waitingList.replaceChildren(...this.waiting.map((person) => {
      const since = person.since ? new Date(person.since) : null;
      const sinceText = since && !Number.isNaN(since.getTime())
        ? `waiting since ${since.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}` : 'waiting';
      return el('li', { class: 'waiting-person', dataset: { participant: person.participant_id } },
        el('div', {}, el('strong', { text: person.name }), el('span', { class: 'muted', text: ` ${sinceText}` })),
        el('div', { class: 'button-row' },
          el('button', { type: 'button', class: 'primary small', onclick: () => this.onAdmit(person), text: `Admit ${person.name}` }),
          el('button', { type: 'button', class: 'secondary small', onclick: () => this.onDecline(person), text: 'Decline' })));
    }));
    this.waitingEmpty.hidden = this.waiting.length > 0;
  }

  renderPeople() {
    const people = this.roster.filter((p) => p.state === 'admitted' || p.state === 'reconnecting');
    this.peopleList.replaceChildren(...people.map((p) => {
      const consent = this.consent.get(p.participant_id);
      const consentKey = consent?.consent ?? 'pending';
      const uplink = this.uplinks.get(p.participant_id);
      const you = p.participant_id === this.myId() ? ' (you)' : '';
      return el('li', { class: 'person', dataset: { participant: p.participant_id, consent: consentKey } },
        el('div', { class: 'person-head' }, el('strong', { text: `${p.name}${you}` })),
        el('div', { class: 'muted small-text', text: `${p.role === 'counselor' ? 'Counselor' : 'Client'} · ${STATE_TEXT[p.state] ?? p.state}` }),
        el('div', {
          class: `consent-pill consent-${consentKey}`,
          text: (p.role === 'counselor' ? SELF_CAPTION_TEXT : CONSENT_TEXT)[consentKey] ?? consentKey,
        }),
        uplink ? el('div', { class: 'muted small-text', text: UPLINK_TEXT[uplink] ?? uplink }) : null);
    }));
  }

  // Fed by final captions and by `transcript_line` events; the same line may arrive both ways.
  addTranscript(line) {
    const key = `${line.participant_id}|${line.utterance_id ?? ''}|${Number(line.start_s ?? 0).toFixed(2)}|${line.text}`;
    if (this.transcriptKeys.has(key)) return;
    this.transcriptKeys.add(key);
    const list = this.transcriptList;
    const stick = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.append(el('li', { class: 'transcript-line', dataset: { participant: line.participant_id } },
      el('span', { class: 'transcript-time', text: formatOffset(line.start_s) }),
      el('strong', { text: ` ${line.name}: ` }),
      el('span', { text: line.text })));
    this.transcriptEmpty.hidden = true;
    if (stick) list.scrollTop = list.scrollHeight;
  }
}
