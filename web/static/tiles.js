// Video tiles: one per participant, with name, muted marker, connection quality and a
// "Reconnecting…" overlay.
import { el, initials } from './ui.js';

const NET_TEXT = { good: 'Good connection', fair: 'Fair connection', poor: 'Poor connection' };

export class TileGrid {
  constructor(grid) {
    this.grid = grid;
    this.tiles = new Map();
  }

  ensure(participantId, { name = '', local = false } = {}) {
    let tile = this.tiles.get(participantId);
    if (tile) return tile;
    const video = el('video', { autoplay: true, playsinline: true, class: local ? 'mirror' : undefined });
    video.muted = local;  // never play our own microphone back
    const nameNode = el('span', { class: 'tile-name' });
    const stateNode = el('span', { class: 'visually-hidden tile-state' });
    const mutedNode = el('span', { class: 'tile-muted', text: 'Muted', hidden: true });
    const netNode = el('span', { class: 'net', hidden: true }, el('span', { class: 'net-bars', 'aria-hidden': 'true' },
      el('i'), el('i'), el('i')), el('span', { class: 'net-label' }));
    const avatar = el('div', { class: 'tile-avatar', 'aria-hidden': 'true' });
    const cameraOff = el('div', { class: 'tile-camera-off', 'aria-hidden': 'true' }, avatar);
    const overlay = el('div', { class: 'tile-overlay', hidden: true }, el('span', { class: 'spinner', 'aria-hidden': 'true' }),
      el('span', { text: 'Reconnecting…' }));
    const soundButton = el('button', { type: 'button', class: 'secondary small tile-sound', hidden: true, text: 'Turn on sound' });
    const node = el('figure', { class: local ? 'tile local' : 'tile', dataset: { participant: participantId } },
      video, cameraOff, overlay, soundButton,
      el('figcaption', { class: 'tile-caption' }, nameNode, mutedNode, netNode, stateNode));
    soundButton.addEventListener('click', () => {
      video.play().then(() => { soundButton.hidden = true; }).catch(() => {});
    });
    tile = { node, video, nameNode, stateNode, mutedNode, netNode, cameraOff, avatar, overlay, soundButton, local, name };
    this.tiles.set(participantId, tile);
    this.grid.append(node);
    this.update(participantId, { name, video: true, audio: true });
    this.layout();
    return tile;
  }

  attach(participantId, stream) {
    const tile = this.tiles.get(participantId);
    if (!tile) return;
    if (tile.video.srcObject !== stream) tile.video.srcObject = stream;
    // Autoplay with sound can be blocked until the person interacts; offer a button then.
    tile.video.play().catch(() => { if (!tile.local) tile.soundButton.hidden = false; });
  }

  update(participantId, { name, audio, video, net, reconnecting }) {
    const tile = this.tiles.get(participantId);
    if (!tile) return;
    if (name !== undefined) {
      tile.name = name;
      tile.nameNode.textContent = tile.local ? `${name} (you)` : name;
      tile.avatar.textContent = initials(name);
      tile.video.setAttribute('aria-label', tile.local ? 'Your camera' : `${name}'s video`);
    }
    if (audio !== undefined) tile.mutedNode.hidden = audio;
    if (video !== undefined) tile.cameraOff.hidden = video;
    // What a screen reader hears for the tile, beside the name: camera and microphone in words.
    tile.stateNode.textContent = tile.cameraOff.hidden ? '' : ' Camera off';
    if (net !== undefined) {
      tile.netNode.hidden = !net;
      if (net) {
        tile.netNode.className = `net net-${net}`;
        tile.netNode.querySelector('.net-label').textContent = NET_TEXT[net] ?? net;
        tile.netNode.title = NET_TEXT[net] ?? net;
      }
    }
    if (reconnecting !== undefined) tile.overlay.hidden = !reconnecting;
    if (name !== undefined && tile.local) this.layout();
  }

  remove(participantId) {
    const tile = this.tiles.get(participantId);
    if (!tile) return;
    tile.video.srcObject = null;
    tile.node.remove();
    this.tiles.delete(participantId);
    this.layout();
  }

  // With others in the call, your own picture is a small inset in a corner (as in most video calls),
  // and the grid is laid out for the others only.
  layout() {
    const others = [...this.tiles.values()].filter((t) => !t.local).length;
    this.grid.dataset.count = String(Math.max(1, others));
    this.grid.dataset.self = others > 0 ? 'inset' : 'alone';
    // The small inset says just "You", so no name is cut short in it.
    for (const tile of this.tiles.values()) {
      if (tile.local) tile.nameNode.textContent = others > 0 ? 'You' : `${tile.name} (you)`;
    }
  }
}
