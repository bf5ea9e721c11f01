// The analysis uplink: a separate, send-only peer connection to the server, opened only while the
// participant is admitted AND has consented. It carries the microphone and, for clients, a small and
// slow copy of the camera (about 320x240, at most 5 frames per second): enough for cues, cheap for the
// server. The server does not trickle, so the offer goes out once ICE gathering is complete.

const GATHER_TIMEOUT_MS = 3000;
const UPLINK_WIDTH = 320;

function gatheringComplete(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== 'complete') return;
      pc.removeEventListener('icegatheringstatechange', done);
      resolve();
    };
    pc.addEventListener('icegatheringstatechange', done);
    // An unreachable STUN server can hold gathering for long; host candidates are enough for a
    // server on the same network, so send what we have.
    setTimeout(resolve, GATHER_TIMEOUT_MS);
  });
}

export class Uplink {
  constructor({ iceServers, send, withVideo, onState }) {
    this.iceServers = iceServers;
    this.send = send;
    this.withVideo = withVideo;
    this.onState = onState ?? (() => {});
    this.pc = null;
    this.generation = 0;
  }

  get active() {
    return this.pc !== null;
  }

  async start(stream) {
    this.close();
    const generation = ++this.generation;
    const audio = stream?.getAudioTracks()[0];
    const video = this.withVideo ? stream?.getVideoTracks()[0] : undefined;
    if (!audio && !video) return;
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    this.pc = pc;
    if (audio) pc.addTransceiver(audio, { direction: 'sendonly', streams: [stream] });
    if (video) {
      const width = video.getSettings().width || 640;
      pc.addTransceiver(video, {
        direction: 'sendonly',
        streams: [stream],
        sendEncodings: [{
          scaleResolutionDownBy: Math.max(1, width / UPLINK_WIDTH),
          maxFramerate: 5,
          maxBitrate: 150000,
        }],
      });
    }
    pc.onconnectionstatechange = () => {
      if (pc === this.pc) this.onState(pc.connectionState);
    };
    this.onState('connecting');
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await gatheringComplete(pc);
    } catch (error) {
      console.warn('analysis uplink offer failed', error);
      if (generation === this.generation) this.close();
      return;
    }
    if (generation !== this.generation) return;  // closed or restarted meanwhile
    this.send({ type: 'uplink_offer', sdp: pc.localDescription.sdp });
  }

  async answer(sdp) {
    const pc = this.pc;
    if (!pc || pc.signalingState !== 'have-local-offer') return;
    try {
      const complete = sdp.endsWith('\n') ? sdp : `${sdp}\r\n`;  // see Peer.applySignal
      await pc.setRemoteDescription({ type: 'answer', sdp: complete });
    } catch (error) {
      console.warn('analysis uplink answer rejected', error);
      if (pc === this.pc) this.close();
    }
  }

  close() {
    this.generation += 1;
    if (!this.pc) return;
    const pc = this.pc;
    this.pc = null;
    pc.onconnectionstatechange = null;
    pc.close();
    this.onState('closed');
  }
}
