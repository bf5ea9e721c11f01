// A client in Debian's Firefox ESR, driven by puppeteer-core over WebDriver BiDi (no geckodriver), for
// tests/e2e/test_firefox.py. It goes through the invite link as a person would (device check, consent,
// waiting room) and reports each step as one JSON line on stdout; the Python test answers with
// commands on stdin, one per line: `stats`, `shot <path>`, `eval-axe <path-to-axe.min.js>`, `quit`.
//
// Firefox's fake devices (media.navigator.streams.fake) give a 1 kHz tone and a moving test picture.
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import puppeteer from 'puppeteer-core';

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split(/=(.*)/s).slice(0, 2)));
const FIREFOX = args.firefox ?? '/usr/bin/firefox-esr';
const STEP_MS = Number(args['step-timeout-ms'] ?? 60000);

const emit = (event, extra = {}) => process.stdout.write(`${JSON.stringify({ event, ...extra })}\n`);

const PREFS = {
  'media.navigator.streams.fake': true,             // fake camera (test picture) and microphone (tone)
  'media.navigator.permission.disabled': true,      // no permission prompt
  'media.autoplay.default': 0,                      // allow audible autoplay, as a person's click would
  'media.autoplay.blocking_policy': 0,
  'media.peerconnection.ice.obfuscate_host_addresses': false,  // plain host candidates, no mDNS names
  'media.peerconnection.ice.loopback': true,
  'browser.shell.checkDefaultBrowser': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.reportingpolicy.firstRun': false,
  'app.update.disabledForTesting': true,
};

// What arrived from each mesh peer, and whether its tile's <video> decodes and advances.
const PEER_STATS = async () => {
  const out = {};
  const mesh = window.attuneDebug?.mesh;
  if (!mesh) return out;
  for (const [peerId, peer] of mesh.peers) {
    const row = { state: peer.pc.connectionState, framesDecoded: 0, audioBytes: 0 };
    const report = await peer.pc.getStats();
    report.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      if (s.kind === 'video') row.framesDecoded += s.framesDecoded || 0;
      if (s.kind === 'audio') row.audioBytes += s.bytesReceived || 0;
    });
    const video = document.querySelector(`.tile[data-participant="${peerId}"] video`);
    row.videoWidth = video?.videoWidth ?? 0;
    row.currentTime = video?.currentTime ?? 0;
    row.paused = video ? video.paused : true;
    out[peerId] = row;
  }
  return out;
};

async function waitVisible(page, selector) {
  await page.waitForSelector(selector, { visible: true, timeout: STEP_MS });
}

async function main() {
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    protocol: 'webDriverBiDi',
    extraPrefsFirefox: PREFS,
    defaultViewport: { width: Number(args.width ?? 1280), height: Number(args.height ?? 800) },
  });
  const page = await browser.newPage();
  page.setDefaultTimeout(STEP_MS);
  page.on('pageerror', (error) => emit('page_error', { message: String(error?.message ?? error) }));
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warn') emit('console', { type: message.type(), text: message.text() });
  });
  emit('launched', { version: await browser.version() });

  const lines = createInterface({ input: process.stdin });
  lines.on('line', async (line) => {
    const [command, ...rest] = line.trim().split(' ');
    const argument = rest.join(' ');
    try {
      if (command === 'stats') {
        emit('stats', { peers: await page.evaluate(PEER_STATS), participant_id: await participantId(page) });
      } else if (command === 'shot') {
        await page.screenshot({ path: argument });
        emit('shot', { path: argument });
      } else if (command === 'eval-axe') {
        await page.evaluate(readFileSync(argument, 'utf8'));
        const result = await page.evaluate(async () => {
          const r = await window.axe.run(document, { resultTypes: ['violations'] });
          return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length,
            targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }));
        });
        emit('axe', { violations: result });
      } else if (command === 'quit') {
        lines.close();  // the close handler below ends the browser and this process
      } else {
        emit('unknown_command', { command });
      }
    } catch (error) {
      emit('command_failed', { command, message: String(error?.message ?? error) });
    }
  });
  lines.on('close', () => browser.close().catch(() => {}).finally(() => {
    emit('closed');
    process.exit(0);
  }));

  await page.goto(args.url, { waitUntil: 'load' });
  await waitVisible(page, '#screen-setup');
  await page.waitForFunction(() => {
    const v = document.querySelector('#preview-video');
    return v && v.readyState >= 2 && v.videoWidth > 0;
  });
  await page.type('#name-input', args.name ?? 'Alex');
  // The level meter is not waited for: headless Firefox here has no sound output device, and without
  // one its AudioContext stays suspended (the call's audio goes over WebRTC and is checked by getStats).
  emit('device_check', {
    ua: await page.evaluate(() => navigator.userAgent),
    meter: await page.evaluate(() => document.querySelector('#mic-meter')?.getAttribute('aria-valuenow')),
  });
  await page.click('#setup-submit');
  await waitVisible(page, '#screen-consent');
  await page.click('#consent-agree');
  await waitVisible(page, '#screen-waiting');
  emit('waiting', { participant_id: await participantId(page) });
  await waitVisible(page, '#screen-call');
  emit('in_call', { participant_id: await participantId(page) });
}

const participantId = (page) => page.evaluate(() => window.attuneDebug?.app?.me?.participant_id ?? null);

main().catch((error) => {
  emit('failed', { message: String(error?.stack ?? error) });
  process.exit(1);
});
