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
// What the counselor is told, calmly, when a client's decision changes during the session.
const CONSENT_NEWS = {
  withdrawn: (name) => `${name} stopped captions and cues. From now on nothing ${name} says is transcribed or analysed.`,
  declined: (name) => `${name} chose to join without captions and cues. Nothing ${name} says is transcribed or analysed.`,
  granted: (name) => `${name} turned captions and cues back on.`,
};
const UPLINK_TEXT = { connecting: 'Analysis: connecting', connected: 'Analysis: receiving', closed: 'Analysis: off' };
const STATE_TEXT = { waiting: 'Waiting', admitted: 'In the call', reconnecting: 'Reconnecting', left: 'Left' };

export class CounselorPanel {
  constructor({ root, onAdmit, onDecline, onWaitingChange, onConsentChange, myId }) {
    this.root = root;
    this.onAdmit = onAdmit;
    this.onDecline = onDecline;
    this.onWaitingChange = onWaitingChange;
    this.onConsentChange = onConsentChange;
    this.consentSeen = false;
    this.myId = myId;
    this.waiting = [];
    this.consent = new Map();
    this.uplinks = new Map();
    this.roster = [];
    this.transcriptItems = new Map();  // line_id -> list item
    this.followTranscript = true;       // keeps the newest sentence in view until the counselor scrolls back
    this.waitingList = root.querySelector('#waiting-list');
    this.waitingEmpty = root.querySelector('#waiting-empty');
    this.peopleList = root.querySelector('#people-list');
    this.transcriptList = document.querySelector('#transcript-list');
    this.transcriptEmpty = document.querySelector('#transcript-empty');
    // Following is a choice the counselor makes by scrolling, not a guess from the last line's height:
    // a large-font sentence can be taller than any fixed "near the bottom" margin.
    this.transcriptList.addEventListener('scroll', () => {
      const list = this.transcriptList;
      this.followTranscript = list.scrollHeight - list.scrollTop - list.clientHeight < 4;
    }, { passive: true });
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
      case 'consent_state': {
        // The first snapshot (page load, rejoin) is the starting point; later changes are news.
        const first = !this.consentSeen;
        this.consentSeen = true;
        for (const p of event.participants ?? []) {
          const before = this.consent.get(p.participant_id)?.consent;
          this.consent.set(p.participant_id, p);
          if (!first && p.role === 'client' && before !== p.consent && CONSENT_NEWS[p.consent]
              && (p.consent !== 'granted' || before === 'withdrawn' || before === 'declined')) {
            const text = CONSENT_NEWS[p.consent](p.name || 'A client');
            this.addConsentNote(p, text);
            this.onConsentChange?.(p, text);
          }
        }
        this.renderPeople();
        break;
      }
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

  // A decision shown where the transcript has its gap, so the counselor sees why it is there.
  addConsentNote(person, text) {
    const at = person.at ? new Date(person.at) : new Date();
    const time = Number.isNaN(at.getTime()) ? '' : at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    this.transcriptList.append(el('li', { class: 'transcript-line transcript-consent', dataset: { participant: person.participant_id, consent: person.consent } },
      el('span', { class: 'transcript-time', text: time }), el('span', { text: ` ${text}` })));
    this.transcriptEmpty.hidden = true;
  }

  // One list item per sentence (`line_id`): a sentence grows in place while it is spoken, then closes.
  // Items stay in the order the sentences began, whichever speaker finished first.
  addTranscript(line) {
    const list = this.transcriptList;
    let item = this.transcriptItems.get(line.line_id);
    if (!item) {
      item = el('li', { class: 'transcript-line', dataset: { participant: line.participant_id, lineId: String(line.line_id), start: String(line.start_s) } },
        el('span', { class: 'transcript-time' }), el('strong', {}), el('span', { class: 'transcript-text' }));
      this.transcriptItems.set(line.line_id, item);
      let after = list.lastElementChild;
      while (after && after.dataset.start !== undefined && Number(after.dataset.start) > line.start_s) after = after.previousElementSibling;
      if (after) after.after(item); else list.prepend(item);
    }
    item.querySelector('.transcript-time').textContent = formatOffset(line.start_s);
    item.querySelector('strong').textContent = ` ${line.name}: `;
    item.querySelector('.transcript-text').textContent = line.text;
    item.classList.toggle('transcript-open', !line.closed);
    if (line.closed) item.removeAttribute('aria-busy'); else item.setAttribute('aria-busy', 'true');
    this.transcriptEmpty.hidden = true;
    if (this.followTranscript) list.scrollTop = list.scrollHeight;
  }

}
