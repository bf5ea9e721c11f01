"""Accessibility checks and screenshots of a page as a person meets it: axe-core (npm, pinned in
tests/e2e/package-lock.json) is injected into the page and run; every run's findings go to
artifacts/a11y/<name>-<size>.json and a screenshot to artifacts/screenshots/pages/<name>-<size>.png.

`audit_both_sizes` checks a page at a laptop (1280x800) and a phone (390x844) viewport and fails on
any serious or critical finding."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from .firefox import AXE_SCRIPT

REPO = Path(__file__).resolve().parents[2]
A11Y_DIR = REPO / "artifacts" / "a11y"
PAGE_SHOTS = REPO / "artifacts" / "screenshots" / "pages"
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SIZES = {"laptop": LAPTOP, "phone": PHONE}
BLOCKING = ("serious", "critical")

# axe's own tags for the WCAG 2.x A/AA success criteria and its best practices (landmarks, headings).
AXE_OPTIONS = {"resultTypes": ["violations"]}

RUN_AXE_JS = """
async (options) => {
  const result = await window.axe.run(document, options);
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, tags: v.tags,
    nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary, html: n.html.slice(0, 200) })),
  }));
}
"""


@dataclass(frozen=True, slots=True)
class Finding:
    page: str
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.page}: [{self.impact}] {self.rule} ({self.help}) at {', '.join(self.targets[:4])}"


def axe_findings(page: Page, name: str) -> list[Finding]:
    """Runs axe in the page as it is now; writes the raw result next to the screenshots."""
    if not page.evaluate("() => Boolean(window.axe)"):
        # Evaluated through the driver, so the page's CSP (script-src 'self') does not stop it.
        page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8"))
    violations: list[dict[str, Any]] = page.evaluate(RUN_AXE_JS, AXE_OPTIONS)
    A11Y_DIR.mkdir(parents=True, exist_ok=True)
    (A11Y_DIR / f"{name}.json").write_text(json.dumps(violations, indent=1))
    return [Finding(name, v["id"], v["impact"] or "minor", v["help"], tuple(n["target"] for n in v["nodes"]))
            for v in violations]


# Programming values that leak into what a person reads ("null" under "Your listening", "NaN %").
RAW_VALUES_JS = r"""
() => (document.body.innerText.match(/(^|[^\w-])(null|undefined|NaN|\[object Object\])(?![\w-])/g) ?? [])
  .map((m) => m.trim())
"""


def raw_values_shown(page: Page, name: str) -> list[Finding]:
    shown: list[str] = page.evaluate(RAW_VALUES_JS)
    if not shown:
        return []
    return [Finding(name, "raw-value-shown", "serious", "Page text shows a raw programming value", tuple(shown))]


def shoot(page: Page, name: str, *, full_page: bool = False) -> Path:
    PAGE_SHOTS.mkdir(parents=True, exist_ok=True)
    path = PAGE_SHOTS / f"{name}.png"
    page.screenshot(path=path, full_page=full_page)
    return path


class Auditor:
    """Collects findings over a tour of the pages, so one test reports every page's problems at once."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.pages: list[str] = []

    def check(self, page: Page, name: str, *, full_page: bool = False) -> list[Finding]:
        found = axe_findings(page, name) + raw_values_shown(page, name)
        shoot(page, name, full_page=full_page)
        self.findings.extend(found)
        self.pages.append(name)
        return found

    def both_sizes(self, page: Page, name: str, *, full_page_phone: bool = True, settle_ms: int = 300) -> None:
        """The page at laptop and at phone size (media queries re-layout it), then back to what it was."""
        before = page.viewport_size or LAPTOP
        for size, viewport in SIZES.items():
            page.set_viewport_size(viewport)
            page.wait_for_timeout(settle_ms)
            self.check(page, f"{name}-{size}", full_page=full_page_phone and size == "phone")
        page.set_viewport_size(before)

    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.impact in BLOCKING]

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for f in self.findings:
            counts[f.impact] = counts.get(f.impact, 0) + 1
        lines = [f"axe: {len(self.pages)} page states, findings by impact {counts}"]
        lines += [str(f) for f in self.findings]
        return "\n".join(lines)


# Every element a keyboard user should be able to reach with Tab: visible, enabled, not inside a hidden
# panel. Tabs other than the selected one are left out: a tab list is one stop, its tabs move with the
# arrow keys (the ARIA tabs pattern), which the tests check separately.
INTERACTIVE_JS = """
() => [...document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]:not([tabindex="-1"])')]
  .filter((n) => !(n.getAttribute('role') === 'tab' && n.getAttribute('aria-selected') !== 'true'))
  .filter((n) => !n.disabled && n.getClientRects().length > 0 && getComputedStyle(n).visibility !== 'hidden'
    && !n.closest('[hidden], [inert], dialog:not([open])'))
  .filter((n) => !(n.type === 'radio' && !n.checked))
  .map((n) => n.id || n.getAttribute('aria-label') || n.textContent.trim().slice(0, 40))
"""
ACTIVE_JS = """
() => { const n = document.activeElement; if (!n || n === document.body) return null;
  return n.id || n.getAttribute('aria-label') || n.textContent.trim().slice(0, 40); }
"""


def tab_reach(page: Page, *, max_presses: int = 120) -> tuple[list[str], list[str]]:
    """(what Tab reaches, in order; what should be reachable). Starts from the top of the page."""
    page.evaluate("() => { document.activeElement?.blur(); window.scrollTo(0, 0); }")
    page.keyboard.press("Tab")
    reached: list[str] = []
    for _ in range(max_presses):
        current = page.evaluate(ACTIVE_JS)
        if current is not None:
            if reached and current == reached[0]:
                break
            if current not in reached:
                reached.append(current)
        page.keyboard.press("Tab")
    return reached, list(page.evaluate(INTERACTIVE_JS))
