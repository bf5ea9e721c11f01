// Peer-to-peer mesh: one RTCPeerConnection per remote participant, negotiated with the "perfect
// negotiation" pattern (https://w3c.github.io/webrtc-pc/#perfect-negotiation-example) so that both
// sides may add tracks and offer at once without glare. The polite peer is the one whose
// participant_id sorts higher (docs/protocol.md).

const QUALITY_RANK = { good: 0, fair: 1, poor: 2 };

export function qualityLevel(rttSeconds, lossPct) {
  if (rttSeconds == null && lossPct == null) return null;
  const rtt = rttSeconds ?? 0;
  const loss = lossPct ?? 0;
  if (rtt <= 0.15 && loss <= 2) return 'good';
  if (rtt <= 0.4 && loss <= 8) return 'fair';
  return 'poor';
}

export function worseLevel(a, b) {
  if (!a) return b ?? null;
  if (!b) return a;
  return QUALITY_RANK[a] >= QUALITY_RANK[b] ? a : b;
}

class Peer {
  constructor(mesh, peerId, epoch) {
    this.mesh = mesh;
    this.peerId = peerId;
    this.epoch = epoch;
    this.polite = mesh.myId > peerId;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.settingRemoteAnswer = false;
    this.closed = false;
    this.queue = Promise.resolve();
    this.remoteStream = new MediaStream();
    this.lastInbound = null;
    this.quality = null;  // {level, rtt_ms, loss_pct}
    this.smoothRtt = null;
    this.smoothLoss = null;
    this.restartTimer = 0;
    this.history = [`created epoch=${epoch} polite=${this.polite}`];
    // Last resort if a negotiation went wrong anyway: start over with fresh ICE candidates.
    this.watchdog = setTimeout(() => {
      if (!this.closed && this.pc.connectionState === 'new') {
        console.warn('peer', this.peerId, 'never started connecting; restarting ICE:', this.history.join(' | '));
        if (this.pc.signalingState === 'stable') this.pc.restartIce();
      }
    }, 10000);

    const pc = new RTCPeerConnection({ iceServers: mesh.iceServers });
    this.pc = pc;
    pc.ontrack = ({ track, streams }) => {
      // One stream per peer: the tile's <video> plays it (audio included).
      const source = streams[0];
      if (source && source !== this.remoteStream) {
        for (const t of source.getTracks()) if (!this.remoteStream.getTrackById(t.id)) this.remoteStream.addTrack(t);
      } else if (!this.remoteStream.getTrackById(track.id)) {
        this.remoteStream.addTrack(track);
      }
      track.addEventListener('unmute', () => mesh.events.onTrack(this));
      mesh.events.onTrack(this);
    };
    pc.onnegotiationneeded = async () => {
      this.history.push('negotiationneeded');
      try {
        this.makingOffer = true;
        await pc.setLocalDescription();
        this.sendDescription();
      } catch (error) {
        console.warn('negotiation with', this.peerId, 'failed', error);
      } finally {
        this.makingOffer = false;
      }
    };
    pc.onicecandidate = ({ candidate }) => {
      // The end-of-candidates marker (null) is not relayed: Chrome does not need it.
      if (candidate) this.mesh.send({ type: 'signal', to: this.peerId, candidate: candidate.toJSON() });
    };
    pc.onconnectionstatechange = () => this.onConnectionState();
    pc.oniceconnectionstatechange = () => {
      if (pc.iceConnectionState === 'failed') this.restartIce();
    };

    // Both sides offering at once ("glare") is survivable with perfect negotiation, but the rolled-back
    // side can lose the ICE candidates of its first offer, and the link then never starts. So only the
    // impolite peer offers first; the polite one adds its tracks to the transceivers that the remote
    // offer creates (or, if no offer comes, offers itself after a moment).
    this.tracksAdded = false;
    this.deferTimer = 0;
    if (this.polite) this.deferTimer = setTimeout(() => this.addLocalTracks(), 4000);
    else this.addLocalTracks();
  }

  addLocalTracks() {
    clearTimeout(this.deferTimer);
    if (this.tracksAdded || this.closed) return;
    this.tracksAdded = true;
    const stream = this.mesh.localStream;
    if (stream) for (const track of stream.getTracks()) this.pc.addTrack(track, stream);
  }

  useStream(stream) {
    if (!this.tracksAdded || this.closed) return;  // addLocalTracks() will send the new stream's tracks
    for (const track of stream.getTracks()) {
      const sender = this.pc.getSenders().find((s) => s.track?.kind === track.kind);
      if (sender) sender.replaceTrack(track).catch((error) => console.warn('replaceTrack failed', error));
      else this.pc.addTrack(track, stream);
    }
  }

  sendDescription() {
    const { type, sdp } = this.pc.localDescription;
    const sent = this.mesh.send({ type: 'signal', to: this.peerId, description: { type, sdp } });
    this.history.push(`sent ${type}${sent ? '' : ' (socket closed)'}`);
  }

  onConnectionState() {
    const state = this.pc.connectionState;
    clearTimeout(this.restartTimer);
    if (state === 'failed') this.restartIce();
    // A 'disconnected' link often heals by itself; restart ICE only if it stays down.
    if (state === 'disconnected') this.restartTimer = setTimeout(() => this.restartIce(), 4000);
    this.mesh.events.onState(this);
  }

  restartIce() {
    if (this.closed) return;
    const state = this.pc.connectionState;
    if (state === 'failed' || state === 'disconnected' || this.pc.iceConnectionState === 'failed') {
      this.pc.restartIce();
    }
  }

  get linkDown() {
    const state = this.pc.connectionState;
    return state === 'disconnected' || state === 'failed';
  }

  handleSignal(message) {
    // Serialise: a candidate must never be applied before the description it belongs to.
    this.queue = this.queue.then(() => this.applySignal(message)).catch((error) => {
      console.warn('signal from', this.peerId, 'not applied', error);
    });
  }

  async applySignal({ description, candidate }) {
    if (this.closed) return;
    if (description?.sdp && !description.sdp.endsWith('\n')) {
      // A relay that trims whitespace drops the final CRLF, and Chrome then rejects the last line.
      description = { type: description.type, sdp: `${description.sdp}\r\n` };
    }
    const pc = this.pc;
    if (description) {
      const readyForOffer = !this.makingOffer
        && (pc.signalingState === 'stable' || this.settingRemoteAnswer);
      const offerCollision = description.type === 'offer' && !readyForOffer;
      this.ignoreOffer = !this.polite && offerCollision;
      this.history.push(`got ${description.type} in ${pc.signalingState}${this.ignoreOffer ? ' (ignored)' : ''}`);
      if (this.ignoreOffer) return;
      this.settingRemoteAnswer = description.type === 'answer';
      try {
        await pc.setRemoteDescription(description);
      } finally {
        this.settingRemoteAnswer = false;
      }
      if (description.type === 'offer') {
        this.addLocalTracks();  // reuses the offered transceivers, so the answer already sends
        await pc.setLocalDescription();
        this.sendDescription();
      }
    } else if (candidate) {
      try {
        await pc.addIceCandidate(candidate);
      } catch (error) {
        if (!this.ignoreOffer) throw error;
      }
    }
  }

  async measure() {
    if (this.closed) return null;
    const report = await this.pc.getStats();
    let rtt = null;
    let lost = 0;
    let received = 0;
    let selectedPairId = null;
    report.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) selectedPairId = s.selectedCandidatePairId;
    });
    report.forEach((s) => {
      if (s.type === 'candidate-pair' && (s.id === selectedPairId || (!selectedPairId && s.nominated))) {
        if (typeof s.currentRoundTripTime === 'number') rtt = s.currentRoundTripTime;
      }
      if (s.type === 'inbound-rtp') {
        lost += s.packetsLost ?? 0;
        received += s.packetsReceived ?? 0;
      }
    });
    let lossPct = null;
    if (this.lastInbound) {
      const dLost = Math.max(0, lost - this.lastInbound.lost);
      const dReceived = Math.max(0, received - this.lastInbound.received);
      if (dLost + dReceived > 0) lossPct = (100 * dLost) / (dLost + dReceived);
    }
    this.lastInbound = { lost, received };
    // Smoothed, so one slow sample (a busy CPU, a burst of loss) does not flip the indicator.
    const smooth = (previous, sample) => (sample == null ? previous : previous == null ? sample : 0.6 * previous + 0.4 * sample);
    this.smoothRtt = smooth(this.smoothRtt, rtt);
    this.smoothLoss = smooth(this.smoothLoss, lossPct);
    const level = this.pc.connectionState === 'connected' ? qualityLevel(this.smoothRtt, this.smoothLoss) : null;
    this.quality = level ? {
      level,
      rtt_ms: this.smoothRtt == null ? null : Math.round(this.smoothRtt * 1000),
      loss_pct: this.smoothLoss == null ? null : Math.round(this.smoothLoss * 10) / 10,
    } : null;
    return this.quality;
  }

  close() {
    this.closed = true;
    clearTimeout(this.restartTimer);
    clearTimeout(this.watchdog);
    clearTimeout(this.deferTimer);
    this.pc.ontrack = null;
    this.pc.onnegotiationneeded = null;
    this.pc.onicecandidate = null;
    this.pc.onconnectionstatechange = null;
    this.pc.close();
  }
}

export class Mesh {
  // events: {onPeerAdded(peer), onPeerRemoved(peerId), onTrack(peer), onState(peer)}
  constructor({ myId, iceServers, localStream, send, events }) {
    this.myId = myId;
    this.iceServers = iceServers;
    this.localStream = localStream;
    this.send = send;
    this.events = events;
    this.peers = new Map();
  }

  // Bring the set of peer connections in line with the roster. A changed epoch means the peer's
  // socket rejoined (reload, new device): its old connection is dead, so build a fresh one.
  sync(participants) {
    const present = new Map();
    for (const p of participants) {
      if (p.participant_id === this.myId) continue;
      if (p.state !== 'admitted' && p.state !== 'reconnecting') continue;
      present.set(p.participant_id, p);
    }
    for (const [peerId, peer] of this.peers) {
      const entry = present.get(peerId);
      if (!entry) this.remove(peerId);
      else if (peer.epoch !== undefined && entry.epoch !== undefined && peer.epoch !== entry.epoch) {
        this.remove(peerId);
      } else if (peer.epoch === undefined) {
        peer.epoch = entry.epoch;
      }
    }
    for (const [peerId, entry] of present) {
      if (!this.peers.has(peerId)) this.add(peerId, entry.epoch);
    }
  }

  add(peerId, epoch) {
    const peer = new Peer(this, peerId, epoch);
    this.peers.set(peerId, peer);
    this.events.onPeerAdded(peer);
    return peer;
  }

  remove(peerId) {
    const peer = this.peers.get(peerId);
    if (!peer) return;
    peer.close();
    this.peers.delete(peerId);
    this.events.onPeerRemoved(peerId);
  }

  // A new camera/microphone stream (the person tried their devices again during the call): each
  // connection swaps the tracks it sends, or adds the kinds it had none of (which renegotiates).
  setLocalStream(stream) {
    this.localStream = stream;
    for (const peer of this.peers.values()) peer.useStream(stream);
  }

  handleSignal(message) {
    // A peer may offer before our roster lists it (the server sends them the roster first).
    const peer = this.peers.get(message.from) ?? this.add(message.from, undefined);
    peer.handleSignal(message);
  }

  // Our own socket rejoined: the server bumped our epoch and every peer will rebuild its side.
  reset(myId) {
    for (const peerId of [...this.peers.keys()]) this.remove(peerId);
    this.myId = myId;
  }

  async measureAll() {
    const results = new Map();
    await Promise.all([...this.peers.values()].map(async (peer) => {
      try { results.set(peer.peerId, await peer.measure()); } catch { results.set(peer.peerId, null); }
    }));
    return results;
  }

  close() {
    for (const peerId of [...this.peers.keys()]) this.remove(peerId);
  }
}
