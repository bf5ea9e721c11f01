"""The server's cue labels (server/records/labels.py, used by the PDF) agree with the pages' own
(web/static/labels.js, used by the live panel and the review page): labels.js runs in Node here."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from server.records.labels import KIND_LABELS, SEVERITY_LABELS, kind_label, severity_label

LABELS_JS = Path(__file__).resolve().parents[2] / "web" / "static" / "labels.js"

# labels.js is an ES module with no imports: loaded from a data: URL, whatever Node thinks of .js files.
NODE_SCRIPT = """
import { readFileSync } from 'node:fs';
const [path, kinds, severities] = process.argv.slice(1);
const labels = await import('data:text/javascript,' + encodeURIComponent(readFileSync(path, 'utf8')));
console.log(JSON.stringify({
  kinds: labels.KIND_LABELS, severities: labels.SEVERITY_LABELS,
  kindLabels: JSON.parse(kinds).map(labels.kindLabel), severityLabels: JSON.parse(severities).map(labels.severityLabel),
}));
"""

# Known kinds, their ".ended" companions, and kinds neither side lists (the fallback wording).
SAMPLE_KINDS = [*KIND_LABELS, "video.face_absent.ended", "words.risk_language", "voice.new_measure.ended",
                "conversation", "a.b.c_d"]
SAMPLE_SEVERITIES = [*SEVERITY_LABELS, "critical", ""]


def labels_in_the_browser_code() -> dict[str, object]:
    node = shutil.which("node")
    assert node, "Node.js is needed (scripts/setup.sh --test installs it for the browser tests)"
    result = subprocess.run(
        [node, "--input-type=module", "-e", NODE_SCRIPT, str(LABELS_JS), json.dumps(SAMPLE_KINDS),
         json.dumps(SAMPLE_SEVERITIES)],
        capture_output=True, text=True, timeout=60, check=True,
    )
    found: dict[str, object] = json.loads(result.stdout)
    return found


def test_python_labels_agree_with_labels_js() -> None:
    js = labels_in_the_browser_code()
    assert js["kinds"] == KIND_LABELS
    assert js["severities"] == SEVERITY_LABELS
    assert js["kindLabels"] == [kind_label(k) for k in SAMPLE_KINDS]
    assert js["severityLabels"] == [severity_label(s) for s in SAMPLE_SEVERITIES]


def test_labels_are_words_not_names() -> None:
    assert kind_label("conversation.response_latency") == "Pause before answering"
    assert kind_label("video.face_absent.ended") == "Face not in view"
    assert kind_label("words.risk_language") == "Risk language (words)"
    assert severity_label("notice") == "Worth a look" and severity_label("unknown") == "For information"
