"""Crisis-language detection for what people say: suicide, self-harm, harm to others, abuse, being unsafe.

A linguistic rule engine: ``tokens`` (contractions expanded), ``lexicons`` (negation, person, past,
fiction, idioms), ``rules`` with one module of rules per category, and the ``judge`` that reads every
match in its context. The interface is narrow on purpose: ``RiskDetector().assess(text, context)``
returns a ``RiskFinding`` (level, category, phrase, rule, frame) or None.
"""

from analysis.risk.findings import Frame, RiskCategory, RiskFinding
from analysis.risk.judge import RULES, RiskDetector

__all__ = ["RULES", "Frame", "RiskCategory", "RiskDetector", "RiskFinding"]
