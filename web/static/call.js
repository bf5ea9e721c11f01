// The call page, for both roles: device check, consent, waiting room, the mesh call, the analysis
// uplink, chat, captions and (counselor) the private panel. Protocol: docs/protocol.md.
import { CaptionView } from './captions.js';
import { insights } from './panel.js';
import { Chat } from './chat.js';
import { CounselorPanel } from './counselor.js';
import { acquireMedia, DeviceCheck, loadDevicePrefs } from './devices.js';
import { Mesh, worseLevel } from './mesh.js';
import { Signaling, socketUrl } from './signaling.js';
import { TileGrid } from './tiles.js';
import { $, confirmDialog, friendlyError, setControlLabel, setupTabs, toast } from './ui.js';
import { Uplink } from './uplink.js';

const role = document.body.dataset.role === 'counselor' ? 'counselor' : 'client';
const token = document.body.dataset.token;
const STORE_KEY = `attune.session.${token}`;
const SELF_CAPTION_KEY = 'attune.captionSelf';
const STATS_EVERY_MS = 2000;
const NET_REPORT_EVERY_MS = 10000;
const JOIN_REFUSALS = new Set(['bad_token', 'expired', 'ended', 'full']);

const app = {
  role,
  name: '',
  me: null,
  session: null,
  consentText: null,       // {version, text}
  consentGranted: null,    // null until this participant decided
  admitted: false,
  inCall: false,
  over: false,
  resumeKey: null,
  roster: [],
  stream: null,
  audioOn: true,
  videoOn: true,
  signaling: null,
  mesh: null,
  uplink: null,
  pendingSignals: [],
  ownNet: null,
  lastNetSent: 0,
  statsTimer: 0,
};

// ---------- persistence (sessionStorage: survives a reload of this tab, not a new tab) ----------
function loadSaved() {
  try { return JSON.parse(sessionStorage.getItem(STORE_KEY)); } catch { return null; }
}
function save() {
  const data = {
    name: app.name,
    resume_key: app.resumeKey,
    participant_id: app.me?.participant_id,
  };
  try { sessionStorage.setItem(STORE_KEY, JSON.stringify(data)); } catch { /* private mode */ }
}
function forget() {
  try { sessionStorage.removeItem(STORE_KEY); } catch { /* private mode */ }
}

// ---------- screens ----------
const SCREENS = ['screen-setup', 'screen-connecting', 'screen-consent', 'screen-waiting', 'screen-call', 'screen-ended'];
function showScreen(id) {
  for (const screen of SCREENS) document.getElementById(screen).hidden = screen !== id;
  document.body.dataset.screen = id;
  const heading = document.querySelector(`#${id} h1`);
  if (heading && id !== 'screen-call') heading.focus({ preventScroll: true });
}

function setStatus(text, kind = '') {
  const status = $('#conn-status');
  status.textContent = text;
  status.dataset.kind = kind;
  $('#reconnect-banner').hidden = kind !== 'reconnecting' || !app.inCall;
}

// ---------- setup (device check) ----------
let deviceCheck = null;

function initSetup(saved) {
  const isCounselor = role === 'counselor';
  $('#setup-heading').textContent = isCounselor ? 'Prepare your session room' : 'Welcome';
  $('#setup-intro').textContent = isCounselor
    ? 'Check your camera and microphone, then open the room. Your clients wait until you let them in.'
    : 'Your counselor invited you to a video session. First, let\'s check your camera and microphone.';
  $('#setup-submit').textContent = isCounselor ? 'Open the session room' : 'Continue';
  $('#counselor-consent').hidden = !isCounselor;
  if (isCounselor) $('#caption-self').checked = localStorage.getItem(SELF_CAPTION_KEY) !== 'false';
  $('#name-input').value = saved?.name ?? '';
  showScreen('screen-setup');
  deviceCheck = new DeviceCheck({
    video: $('#preview-video'),
    placeholder: $('#preview-off'),
    cameraSelect: $('#camera-select'),
    micSelect: $('#mic-select'),
    meterFill: $('#mic-meter-fill'),
    meter: $('#mic-meter'),
    message: $('#device-message'),
  });
  deviceCheck.start();
  let submitting = false;
  $('#setup-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    if (submitting) return;
    const name = $('#name-input').value.trim().slice(0, 60);
    if (!name) {
      $('#name-error').hidden = false;
      $('#name-input').focus();
      return;
    }
    $('#name-error').hidden = true;
    app.name = name;
    if (isCounselor) {
      app.consentGranted = $('#caption-self').checked;
      localStorage.setItem(SELF_CAPTION_KEY, String(app.consentGranted));
    }
    submitting = true;
    if (deviceCheck.pending) {
      // Pressed while the camera is still starting (or the browser's permission question is open):
      // wait for it, and say so, rather than joining without camera and microphone.
      const button = $('#setup-submit');
      const label = button.textContent;
      button.disabled = true;
      button.setAttribute('aria-busy', 'true');
      button.textContent = 'Starting your camera and microphone…';
      const message = $('#device-message');
      message.textContent = 'Waiting for your camera and microphone to start. If your browser asks to use them, choose Allow.';
      message.hidden = false;
      await deviceCheck.ready();
      button.disabled = false;
      button.removeAttribute('aria-busy');
      button.textContent = label;
      // The check's own result (a problem, or none) replaces the waiting message.
      const problem = deviceCheck.problem;
      message.textContent = problem ?? '';
      message.hidden = !problem;
    }
    app.stream = deviceCheck.finish();
    connect();
  });
}

// ---------- connection ----------
function connect() {
  showScreen('screen-connecting');
  setStatus('Connecting…', 'connecting');
  app.signaling = new Signaling(socketUrl(document.body.dataset.session), () => {
    const join = { type: 'join', token, name: app.name };
    if (app.resumeKey) join.resume_key = app.resumeKey;
    // Only the socket dropped (a network blip, or the server moved): the call between browsers goes on.
    if (app.mesh) join.continuing = true;
    return join;
  });
  app.signaling.addEventListener('message', (event) => handle(event.detail));
  app.signaling.addEventListener('drop', () => {
    setStatus('Connection lost. Reconnecting…', 'reconnecting');
  });
  app.signaling.connect();
}

const send = (message) => app.signaling?.send(message) ?? false;

function handle(message) {
  switch (message.type) {
    case 'welcome': onWelcome(message); break;
    case 'waiting': app.admitted = false; route(); break;
    case 'admitted': app.admitted = true; route(); break;
    case 'declined':
      finish('Your counselor could not let you in',
        'This can happen when it is not the right time for this session. If you think this is a mistake, please contact your counselor.');
      break;
    case 'session_ended':
      finish('The session has ended',
        role === 'counselor' ? 'You ended the session for everyone. Its transcript, cues and your notes are in the session record.'
          : 'Your counselor has ended the session. Thank you for joining. You can close this page.');
      break;
    case 'roster': onRoster(message.participants ?? []); break;
    case 'signal':
      if (app.mesh) app.mesh.handleSignal(message);
      else if (app.pendingSignals.length < 500) app.pendingSignals.push(message);
      break;
    case 'uplink_answer': app.uplink?.answer(message.sdp); break;
    case 'uplink_closed': onUplinkClosed(message.reason); break;
    case 'chat': chat?.add(message); break;
    case 'caption': onCaption(message); break;
    // The counselor's event says more (why, and what else is off); it wins over the public sentence.
    case 'captions_unavailable': if (role !== 'counselor') captionView?.unavailable(message.message); break;
    case 'captions_available': if (role !== 'counselor') captionView?.available(message.message); break;
    case 'counselor':
      if (role !== 'counselor') break;
      if (message.event?.kind === 'captions_unavailable') captionView?.unavailable(message.event.message);
      if (message.event?.kind === 'captions_available') captionView?.available(message.event.message);
      counselorPanel?.handle(message.event ?? {});
      break;
    case 'error': onError(message); break;
    case 'consent_recorded': break;
    default: break;
  }
}

function onWelcome(message) {
  const rejoined = app.me !== null;
  const previousId = app.me?.participant_id;
  app.me = message.you;
  app.session = message.session ?? {};
  app.consentText = message.consent ?? null;
  app.resumeKey = message.resume_key ?? app.resumeKey;
  app.iceServers = message.ice_servers ?? [];
  app.admitted = role === 'counselor' || message.state === 'admitted';
  app.signaling.joined();
  setStatus('Connected', 'connected');
  document.title = `${app.session.title || 'Session'} · Attune`;
  if (message.captions_available === false) $('#captions').hidden = true;
  $('#session-title').textContent = app.session.title ?? '';
  if (role === 'counselor') initCounselorPanel();

  // We came back as someone new (our place was not held): every peer builds a new connection to us, so
  // do we. Otherwise we said `continuing`, and the peer-to-peer call simply carries on.
  if (rejoined && app.mesh && previousId !== app.me.participant_id) {
    app.mesh.reset(app.me.participant_id);
    for (const pid of [...tiles.tiles.keys()]) if (pid !== 'me') tiles.remove(pid);
  }
  // The server keeps each participant's decision; a reloaded page picks it up from `welcome`.
  const onServer = { granted: true, declined: false, withdrawn: false }[message.consent?.state] ?? null;
  if (app.consentGranted === null && onServer !== null) app.consentGranted = onServer;
  if (app.consentGranted === null && role === 'counselor') {
    app.consentGranted = localStorage.getItem(SELF_CAPTION_KEY) !== 'false';
  }
  if (app.consentGranted !== null && app.consentGranted !== onServer) sendConsent(app.consentGranted);
  save();
  send({ type: 'resume_saved' });
  if (rejoined && app.inCall) {
    app.uplink?.close();
    sendMediaState();
    send({ type: 'captions', enabled: captionView.enabled });
  }
  route();
}

// Decide which screen this participant belongs on from what we know.
function route() {
  if (app.over || !app.me) return;
  if (role === 'client' && app.consentGranted === null) {
    showConsent();
    return;
  }
  if (!app.admitted) {
    if (app.inCall) leaveCallView();
    showScreen('screen-waiting');
    $('#waiting-video').srcObject = app.stream;
    setStatus('In the waiting room', 'waiting');
    return;
  }
  enterCall();
}

function onError(message) {
  if (message.code === 'replaced') {
    // The same person opened the session in another tab or device; that one carries on.
    finish('This session is open in another window',
      'You joined from another window or device, so this page has stepped aside. You can close it.');
    return;
  }
  const refusedJoin = message.ref === 'join' || (!app.me && JOIN_REFUSALS.has(message.code));
  if (refusedJoin && JOIN_REFUSALS.has(message.code)) {
    if (message.code === 'bad_token' && app.resumeKey && app.me === null && loadSaved()?.resume_key) {
      // A stale resume key from an earlier visit: start over as a new participant.
      app.resumeKey = null;
      forget();
      app.signaling.stop();
      app.signaling = null;
      connect();
      return;
    }
    const titles = {
      bad_token: 'This link does not work',
      expired: 'This link has expired',
      ended: 'This session has ended',
      full: 'This session is full',
    };
    const counselorWords = {
      bad_token: 'This room link is not valid. You can start a new session from the start page.',
      expired: 'This room link has expired. You can start a new session from the start page.',
      ended: 'This session has ended. Its record is in your session records.',
      full: 'This session already has the most people it can hold.',
    };
    finish(titles[message.code], role === 'counselor' ? counselorWords[message.code] : friendlyError(message.code));
    return;
  }
  if (message.ref === 'uplink_offer' || message.code === 'uplink_failed') {
    app.uplink?.close();
    if (message.code === 'uplink_failed') {
      toast(friendlyError(message.code));
      setTimeout(ensureUplink, 5000);
    }
    return;
  }
  toast(friendlyError(message.code));
}

// ---------- consent ----------
function showConsent() {
  showScreen('screen-consent');
  $('#consent-text').textContent = app.consentText?.text ?? '';
  if (app.consentText?.title) $('#consent-heading').textContent = app.consentText.title;
  setStatus('Connected', 'connected');
}

function sendConsent(granted) {
  app.consentGranted = granted;
  send({ type: 'consent', granted, version: app.consentText?.version ?? '' });
  save();
  renderConsentControl();
  if (granted) ensureUplink();
  else app.uplink?.close();
}

function renderConsentControl() {
  const button = $('#consent-toggle');
  if (!button) return;
  const on = app.consentGranted === true;
  if (role === 'counselor') setControlLabel(button, on ? 'Stop captioning me' : 'Caption my speech', on ? 'Stop CC' : 'Caption me');
  else setControlLabel(button, on ? 'Stop captions and cues' : 'Turn on captions and cues', on ? 'Cues off' : 'Cues on');
  button.dataset.on = String(on);
  $('#consent-state').textContent = on
    ? (role === 'counselor' ? 'Your speech is captioned.' : 'Captions and cues are on for you.')
    : (role === 'counselor' ? 'Your speech is not captioned.' : 'Captions and cues are off for you. Nothing is sent for analysis.');
}

async function toggleConsent() {
  if (app.consentGranted) {
    const ok = await confirmDialog({
      title: role === 'counselor' ? 'Stop captioning your speech?' : 'Stop captions and cues?',
      message: role === 'counselor'
        ? 'Your speech will no longer be transcribed. You can turn this back on at any time.'
        : 'Your voice and picture will no longer be analysed, and your words will not be captioned. The call itself continues. You can turn this back on at any time.',
      okText: role === 'counselor' ? 'Stop captioning me' : 'Stop captions and cues',
      cancelText: 'Keep them on',
    });
    if (ok) sendConsent(false);
  } else {
    const ok = await confirmDialog({
      title: role === 'counselor' ? 'Caption your speech?' : 'Turn on captions and cues?',
      message: role === 'counselor' ? 'Your speech will be transcribed on this server.' : (app.consentText?.text ?? ''),
      okText: 'I agree',
      cancelText: 'Not now',
    });
    if (ok) sendConsent(true);
  }
}

// ---------- uplink ----------
function ensureUplink() {
  if (!app.inCall || !app.admitted || app.consentGranted !== true || app.over) return;
  if (!app.uplink || app.uplink.active) return;
  app.uplink.start(app.stream);
}

function onUplinkClosed(reason) {
  app.uplink?.close();
  if (app.consentGranted === true && reason !== 'consent_withdrawn' && reason !== 'stopped') {
    // Closed by the server for another reason (error, restart): try again calmly, once.
    setTimeout(ensureUplink, 5000);
  }
}

// ---------- the call ----------
let tiles = null;
let chat = null;
let captionView = null;
let counselorPanel = null;
let tabs = null;

function initCallUi() {
  tiles = new TileGrid($('#video-grid'));
  captionView = new CaptionView({
    root: $('#captions'),
    log: $('#captions-log'),
    jump: $('#captions-jump'),
    toggle: $('#captions-toggle'),
    smaller: $('#font-smaller'),
    larger: $('#font-larger'),
    empty: $('#captions-empty'),
    onToggle: (enabled) => send({ type: 'captions', enabled }),
  });
  const isCounselor = role === 'counselor';
  for (const node of document.querySelectorAll('.counselor-only')) node.hidden = !isCounselor;
  tabs = setupTabs($('#panel-tabs'), (id) => {
    if (id === 'tab-chat') chat?.markRead();
    if (id === 'tab-people') $('#people-badge').hidden = true;
  });
  if (!isCounselor) tabs.select('tab-chat');
  chat = new Chat({
    list: $('#chat-list'),
    form: $('#chat-form'),
    input: $('#chat-input'),
    badge: [$('#chat-badge'), $('#chat-control-badge')],
    onUnseen: (message) => toast(`New chat message from ${message.name}.`),
    empty: $('#chat-empty'),
    isVisible: () => tabs.current() === 'tab-chat' && !$('#side-panel').classList.contains('collapsed'),
    send,
    myId: () => app.me?.participant_id,
  });
  $('#mic-toggle').addEventListener('click', () => setAudio(!app.audioOn));
  $('#camera-toggle').addEventListener('click', () => setVideo(!app.videoOn));
  $('#consent-toggle').addEventListener('click', toggleConsent);
  $('#leave-button').addEventListener('click', leave);
  $('#end-button').addEventListener('click', endForEveryone);
  $('#panel-toggle').addEventListener('click', () => setPanelOpen($('#side-panel').classList.contains('collapsed')));
  // A client's side panel holds only the chat: closed until wanted, so the call has the room (the
  // Chat button counts unread messages). The counselor's panel (people, insights) starts open.
  setPanelOpen(isCounselor);
  $('#media-retry').addEventListener('click', retryDevices);
  renderDeviceControls();
}

const hasAudio = () => Boolean(app.stream?.getAudioTracks().length);
const hasVideo = () => Boolean(app.stream?.getVideoTracks().length);

// The call page says plainly when this person's camera or microphone is missing, and offers to try
// again without a reload; others see a camera-off tile and a muted marker, never a black picture.
function renderDeviceControls() {
  $('#mic-toggle').disabled = !hasAudio();
  $('#camera-toggle').disabled = !hasVideo();
  const banner = $('#media-banner');
  if (!banner) return;
  let text = '';
  if (!hasAudio() && !hasVideo()) text = 'You are in the call without a camera or microphone, so others cannot see or hear you. Chat still works.';
  else if (!hasVideo()) text = 'Your camera did not start, so others hear you but do not see you.';
  else if (!hasAudio()) text = 'Your microphone did not start, so others see you but do not hear you. Chat still works.';
  banner.hidden = !text;
  $('#media-banner-text').textContent = text;
}

async function retryDevices() {
  const button = $('#media-retry');
  button.disabled = true;
  button.textContent = 'Starting your camera and microphone…';
  const { stream, problem } = await acquireMedia(loadDevicePrefs());
  button.disabled = false;
  button.textContent = 'Try camera and microphone again';
  const gained = stream && (stream.getAudioTracks().length > (app.stream?.getAudioTracks().length ?? 0)
    || stream.getVideoTracks().length > (app.stream?.getVideoTracks().length ?? 0));
  if (!gained) {
    for (const track of stream?.getTracks() ?? []) track.stop();
    toast(problem ?? 'Your camera and microphone still did not start.');
    return;
  }
  const previous = app.stream;
  app.stream = stream;
  for (const track of stream.getAudioTracks()) track.enabled = app.audioOn;
  for (const track of stream.getVideoTracks()) track.enabled = app.videoOn;
  tiles.attach('me', stream);
  app.mesh?.setLocalStream(stream);
  if (app.uplink?.active) app.uplink.start(stream);
  else ensureUplink();
  for (const track of previous?.getTracks() ?? []) track.stop();
  tiles.update('me', { audio: app.audioOn && hasAudio(), video: app.videoOn && hasVideo() });
  renderDeviceControls();
  sendMediaState();
  toast(problem ?? 'Your camera and microphone are on.');
}

function setPanelOpen(open) {
  const panel = $('#side-panel');
  const button = $('#panel-toggle');
  panel.classList.toggle('collapsed', !open);
  button.setAttribute('aria-expanded', String(open));
  if (role === 'counselor') setControlLabel(button, open ? 'Hide panel' : 'Show panel', 'Panel');
  else setControlLabel(button, open ? 'Close chat' : 'Chat', 'Chat');
  if (open && tabs?.current() === 'tab-chat') {
    chat?.markRead();
    if (role === 'client') $('#chat-input').focus({ preventScroll: false });
  }
}

function initCounselorPanel() {
  if (counselorPanel) return;
  insights.setSender(send);
  if (!tiles) initCallUi();
  counselorPanel = new CounselorPanel({
    root: $('#panel-people'),
    myId: () => app.me?.participant_id,
    onAdmit: (person) => send({ type: 'admit', participant_id: person.participant_id }),
    onDecline: async (person) => {
      const ok = await confirmDialog({
        title: `Decline ${person.name}?`,
        message: `${person.name} will see a kind message that you could not let them in now.`,
        okText: 'Decline', cancelText: 'Cancel', danger: true,
      });
      if (ok) send({ type: 'decline', participant_id: person.participant_id });
    },
    onConsentChange: (person, text) => {
      // A calm notice, not an alarm: the call goes on, and the People tab keeps the state.
      toast(text);
      if (tabs.current() !== 'tab-people' || $('#side-panel').classList.contains('collapsed')) $('#people-badge').hidden = false;
    },
    onWaitingChange: (waiting) => {
      const before = knownWaiting;
      knownWaiting = new Set(waiting.map((p) => p.participant_id));
      const newcomers = waiting.filter((p) => !before.has(p.participant_id));
      if (newcomers.length) {
        toast(`${newcomers.map((p) => p.name).join(', ')} ${newcomers.length > 1 ? 'are' : 'is'} waiting to join.`);
        if (tabs.current() !== 'tab-people' || $('#side-panel').classList.contains('collapsed')) $('#people-badge').hidden = false;
      }
      $('#waiting-count').textContent = waiting.length ? `(${waiting.length})` : '';
    },
  });
  const url = app.session?.invite_url ?? localStorage.getItem(`attune.invite.${token}`);
  counselorPanel.setInviteUrl(url);
}
let knownWaiting = new Set();

function enterCall() {
  if (app.inCall) {
    ensureUplink();
    return;
  }
  if (!tiles) initCallUi();
  app.inCall = true;
  showScreen('screen-call');
  setStatus('Connected', 'connected');
  const me = tiles.ensure('me', { name: app.me.name ?? app.name, local: true });
  if (app.stream) tiles.attach('me', app.stream);
  tiles.update('me', { audio: app.audioOn && hasAudio(), video: app.videoOn && hasVideo() });
  me.video.muted = true;
  app.mesh = new Mesh({
    myId: app.me.participant_id,
    iceServers: app.iceServers,
    localStream: app.stream,
    send,
    events: {
      onPeerAdded: (peer) => {
        const entry = app.roster.find((p) => p.participant_id === peer.peerId);
        tiles.ensure(peer.peerId, { name: entry?.name ?? '' });
        tiles.attach(peer.peerId, peer.remoteStream);
        refreshTile(peer.peerId);
      },
      onPeerRemoved: (peerId) => tiles.remove(peerId),
      onTrack: (peer) => tiles.attach(peer.peerId, peer.remoteStream),
      onState: (peer) => refreshTile(peer.peerId),
    },
  });
  app.uplink = new Uplink({
    iceServers: app.iceServers,
    send,
    withVideo: role === 'client',
    onState: () => {},
  });
  app.mesh.sync(app.roster);
  for (const message of app.pendingSignals.splice(0)) app.mesh.handleSignal(message);
  renderConsentControl();
  sendMediaState();
  if (!captionView.enabled) send({ type: 'captions', enabled: false });
  clearInterval(app.statsTimer);
  app.statsTimer = setInterval(measureNetwork, STATS_EVERY_MS);
  ensureUplink();
}

function leaveCallView() {
  app.inCall = false;
  clearInterval(app.statsTimer);
  app.uplink?.close();
  app.mesh?.close();
  app.mesh = null;
}

function onRoster(participants) {
  app.roster = participants;
  const mine = participants.find((p) => p.participant_id === app.me?.participant_id);
  if (mine && tiles) tiles.update('me', { name: mine.name });
  if (counselorPanel) counselorPanel.setRoster(participants);
  if (!app.mesh) return;
  app.mesh.sync(participants);
  for (const p of participants) if (app.mesh.peers.has(p.participant_id)) refreshTile(p.participant_id);
  const present = participants.filter((p) => p.state === 'admitted' || p.state === 'reconnecting').length;
  $('#people-count').textContent = present > 1 ? `${present} people in the call` : 'Only you are here so far';
}

function refreshTile(peerId) {
  const peer = app.mesh?.peers.get(peerId);
  const entry = app.roster.find((p) => p.participant_id === peerId);
  if (!peer) return;
  tiles.update(peerId, {
    name: entry?.name,
    audio: entry ? entry.audio !== false : undefined,
    video: entry ? entry.video !== false : undefined,
    net: worseLevel(peer.quality?.level, entry?.net?.level),
    reconnecting: entry?.state === 'reconnecting' || peer.linkDown,
  });
}

async function measureNetwork() {
  if (!app.mesh) return;
  const results = await app.mesh.measureAll();
  let level = null;
  let rtt = null;
  let loss = null;
  for (const [peerId, quality] of results) {
    refreshTile(peerId);
    if (!quality) continue;
    level = worseLevel(level, quality.level);
    if (quality.rtt_ms != null) rtt = Math.max(rtt ?? 0, quality.rtt_ms);
    if (quality.loss_pct != null) loss = Math.max(loss ?? 0, quality.loss_pct);
  }
  tiles.update('me', { net: level });
  const now = Date.now();
  if (level && (level !== app.ownNet || now - app.lastNetSent > NET_REPORT_EVERY_MS)) {
    const report = { type: 'net_quality', level };
    if (rtt != null) report.rtt_ms = rtt;
    if (loss != null) report.loss_pct = loss;
    if (send(report)) {
      app.ownNet = level;
      app.lastNetSent = now;
    }
  }
}

function sendMediaState() {
  // What others can really get from us: a missing device counts as off.
  send({ type: 'media_state', audio: app.audioOn && hasAudio(), video: app.videoOn && hasVideo() });
}

function setAudio(on) {
  app.audioOn = on;
  // The same track feeds the mesh and the analysis uplink, so muting stops both.
  for (const track of app.stream?.getAudioTracks() ?? []) track.enabled = on;
  const button = $('#mic-toggle');
  setControlLabel(button, on ? 'Mute' : 'Unmute');
  button.setAttribute('aria-pressed', String(!on));
  tiles.update('me', { audio: on });
  sendMediaState();
}

function setVideo(on) {
  app.videoOn = on;
  for (const track of app.stream?.getVideoTracks() ?? []) track.enabled = on;
  const button = $('#camera-toggle');
  setControlLabel(button, on ? 'Stop camera' : 'Start camera', 'Camera');
  button.setAttribute('aria-pressed', String(!on));
  tiles.update('me', { video: on });
  sendMediaState();
}

function onCaption(message) {
  captionView?.handle(message);
}

async function leave() {
  const ok = await confirmDialog({
    title: 'Leave the session?',
    message: role === 'counselor'
      ? 'You will leave the call. The session stays open for the others until you end it.'
      : 'You will leave the call. You can use your invite link again to rejoin while the session is open.',
    okText: 'Leave', cancelText: 'Stay', danger: true,
  });
  if (!ok) return;
  send({ type: 'leave' });
  finish('You have left the session', 'Thank you for joining. You can close this page now.', { canRejoin: true });
}

async function endForEveryone() {
  const ok = await confirmDialog({
    title: 'End the session for everyone?',
    message: 'Everyone will be disconnected, and the invite link will stop working.',
    okText: 'End session', cancelText: 'Cancel', danger: true,
  });
  if (!ok) return;
  if (send({ type: 'end_session' })) {
    const button = $('#end-button');
    button.disabled = true;
    setControlLabel(button, 'Ending the session…', 'Ending…');
  }
}

function finish(title, message, { canRejoin = false } = {}) {
  if (app.over) return;
  app.over = true;
  forget();
  leaveCallView();
  app.signaling?.stop();
  deviceCheck?.stopTracks();
  for (const track of app.stream?.getTracks() ?? []) track.stop();
  $('#ended-title').textContent = title;
  $('#ended-message').textContent = message;
  $('#rejoin-button').hidden = !canRejoin;
  // The counselor's next steps: this session's record, or a new session.
  const links = $('#ended-links');
  if (links) {
    links.hidden = role !== 'counselor';
    const sessionId = app.session?.session_id;
    const recordLink = $('#ended-record');
    recordLink.hidden = !sessionId;
    if (sessionId) recordLink.href = `/records/${encodeURIComponent(sessionId)}`;
  }
  setStatus('', '');
  showScreen('screen-ended');
}

// ---------- start ----------
async function start() {
  $('#rejoin-button').addEventListener('click', () => location.reload());
  $('#waiting-leave').addEventListener('click', leave);
  $('#consent-agree').addEventListener('click', () => { sendConsent(true); route(); });
  $('#consent-decline').addEventListener('click', () => { sendConsent(false); route(); });
  const saved = loadSaved();
  if (saved?.resume_key && saved.name) {
    // A reload of a page that was already in the session: skip the device check and rejoin.
    app.name = saved.name;
    app.resumeKey = saved.resume_key;
    showScreen('screen-connecting');
    const { stream } = await acquireMedia(loadDevicePrefs());
    app.stream = stream;
    connect();
  } else {
    initSetup(saved);
  }
}

// For the end-to-end tests and for debugging in the console; holds nothing the page doesn't have.
window.attuneDebug = {
  get app() { return app; },
  get mesh() { return app.mesh; },
  get uplink() { return app.uplink; },
};

start();
