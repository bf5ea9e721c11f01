// Camera and microphone: acquisition with graceful fallbacks, the pre-join device check (preview,
// level meter, pickers) and the preferred devices remembered in localStorage.

const PREFS_KEY = 'attune.devices';

export function loadDevicePrefs() {
  try { return JSON.parse(localStorage.getItem(PREFS_KEY)) ?? {}; } catch { return {}; }
}

export function saveDevicePrefs(prefs) {
  try { localStorage.setItem(PREFS_KEY, JSON.stringify(prefs)); } catch { /* private mode */ }
}

function constraints({ cameraId, micId }, { audio = true, video = true } = {}) {
  return {
    audio: audio ? { deviceId: micId ? { ideal: micId } : undefined, echoCancellation: true, noiseSuppression: true } : false,
    video: video ? {
      deviceId: cameraId ? { ideal: cameraId } : undefined,
      width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24, max: 30 },
    } : false,
  };
}

// Camera and microphone if possible, else whichever works, else nothing (chat still works).
export async function acquireMedia(prefs = {}) {
  if (!navigator.mediaDevices?.getUserMedia) {
    return { stream: null, problem: 'This browser cannot use a camera or microphone here. You can still join and use chat.' };
  }
  const attempts = [
    [{ audio: true, video: true }, null],
    [{ audio: true, video: false }, 'We could not start your camera, so you will join with sound only.'],
    [{ audio: false, video: true }, 'We could not start your microphone, so others will not hear you. Chat still works.'],
  ];
  let lastError = null;
  for (const [kinds, problem] of attempts) {
    try {
      const stream = await navigator.mediaDevices.getUserMedia(constraints(prefs, kinds));
      return { stream, problem };
    } catch (error) {
      lastError = error;
    }
  }
  const denied = lastError?.name === 'NotAllowedError';
  return {
    stream: null,
    problem: denied
      ? 'Camera and microphone are blocked for this page. You can allow them in your browser\'s site settings, or join and use chat.'
      : 'We could not find a camera or microphone. You can still join and use chat.',
  };
}

export class LevelMeter {
  constructor(fillElement, meterElement) {
    this.fill = fillElement;
    this.meter = meterElement;
    this.context = null;
    this.frame = 0;
  }

  attach(stream) {
    this.detach();
    const track = stream?.getAudioTracks()[0];
    if (!track) return;
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    this.context = new Context();
    const source = this.context.createMediaStreamSource(new MediaStream([track]));
    const analyser = this.context.createAnalyser();
    analyser.fftSize = 1024;
    source.connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const draw = () => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const v of samples) sum += v * v;
      const rms = Math.sqrt(sum / samples.length);
      const db = 20 * Math.log10(rms + 1e-9);
      const percent = Math.max(0, Math.min(100, Math.round(((db + 60) / 60) * 100)));
      this.fill.style.width = `${percent}%`;
      this.meter.setAttribute('aria-valuenow', String(percent));
      this.frame = requestAnimationFrame(draw);
    };
    draw();
    // Some browsers start the context suspended until the user interacts with the page.
    if (this.context.state === 'suspended') {
      const resume = () => this.context?.resume();
      document.addEventListener('pointerdown', resume, { once: true });
      document.addEventListener('keydown', resume, { once: true });
    }
  }

  detach() {
    cancelAnimationFrame(this.frame);
    this.context?.close();
    this.context = null;
    this.fill.style.width = '0%';
  }
}

export class DeviceCheck {
  constructor({ video, placeholder, cameraSelect, micSelect, meterFill, meter, message }) {
    this.video = video;
    this.placeholder = placeholder;
    this.cameraSelect = cameraSelect;
    this.micSelect = micSelect;
    this.message = message;
    this.levelMeter = new LevelMeter(meterFill, meter);
    this.stream = null;
    this.acquiring = null;  // the getUserMedia round in progress (a permission prompt can hold it open)
    this.generation = 0;
    this.prefs = loadDevicePrefs();
    cameraSelect.addEventListener('change', () => this.switchTo({ cameraId: cameraSelect.value }));
    micSelect.addEventListener('change', () => this.switchTo({ micId: micSelect.value }));
  }

  async start() {
    await this.open();
    await this.listDevices();
  }

  get pending() {
    return this.acquiring !== null;
  }

  // Resolves once no camera/microphone request is in flight, so nobody joins while the camera is still
  // starting (and no stream turns up later in a preview nobody sees, holding the camera light on).
  async ready() {
    while (this.acquiring) await this.acquiring;
    return this.stream;
  }

  open() {
    const generation = ++this.generation;
    const round = this.acquire(generation).finally(() => {
      if (this.acquiring === round) this.acquiring = null;
    });
    this.acquiring = round;
    return round;
  }

  async acquire(generation) {
    const { stream, problem } = await acquireMedia(this.prefs);
    if (generation !== this.generation) {
      // A newer request (another device picked) replaced this one: release what this one got.
      for (const track of stream?.getTracks() ?? []) track.stop();
      return;
    }
    this.stream = stream;
    this.video.srcObject = stream;
    const hasVideo = Boolean(stream?.getVideoTracks().length);
    this.video.hidden = !hasVideo;
    this.placeholder.hidden = hasVideo;
    this.problem = problem;
    this.message.textContent = problem ?? '';
    this.message.hidden = !problem;
    this.levelMeter.attach(stream);
  }

  async listDevices() {
    let devices = [];
    try { devices = await navigator.mediaDevices.enumerateDevices(); } catch { devices = []; }
    const fill = (select, kind, currentTrack, fallbackLabel) => {
      const current = currentTrack?.getSettings().deviceId;
      select.replaceChildren();
      const list = devices.filter((d) => d.kind === kind && d.deviceId);
      list.forEach((device, i) => {
        const option = new Option(device.label || `${fallbackLabel} ${i + 1}`, device.deviceId);
        option.selected = device.deviceId === current;
        select.append(option);
      });
      select.disabled = list.length === 0;
      if (list.length === 0) select.append(new Option(`No ${fallbackLabel.toLowerCase()} found`, ''));
    };
    fill(this.cameraSelect, 'videoinput', this.stream?.getVideoTracks()[0], 'Camera');
    fill(this.micSelect, 'audioinput', this.stream?.getAudioTracks()[0], 'Microphone');
  }

  async switchTo(change) {
    this.prefs = { ...this.prefs, ...change };
    saveDevicePrefs(this.prefs);
    this.stopTracks();
    this.stream = null;
    await this.open();
    await this.listDevices();
  }

  stopTracks() {
    this.levelMeter.detach();
    for (const track of this.stream?.getTracks() ?? []) track.stop();
  }

  // Hand the live stream to the call; the preview and meter stop here. Call after ready().
  finish() {
    this.generation += 1;  // a request still in flight (there should be none) must not reopen the preview
    this.levelMeter.detach();
    this.video.srcObject = null;
    saveDevicePrefs({
      cameraId: this.stream?.getVideoTracks()[0]?.getSettings().deviceId ?? this.prefs.cameraId,
      micId: this.stream?.getAudioTracks()[0]?.getSettings().deviceId ?? this.prefs.micId,
    });
    return this.stream;
  }
}
