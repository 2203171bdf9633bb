"""The derivative rule by rule, and the derivative as the limit of a difference
quotient: the core of the two ways `gdcli derive` can show its work.

No printing, no environment, no command-line words: data in, data out, and
gdcli's errors (`gdcli.errors`) for what cannot be done.
"""

from __future__ import annotations

from gdcli.derivation.limit import STATUSES, LimitResult, limit_of_quotient
from gdcli.derivation.steps import RULE_NAMES, RULES, Derivation, Let, Step, derivation_steps

__all__ = [
    "RULES",
    "RULE_NAMES",
    "STATUSES",
    "Derivation",
    "Let",
    "LimitResult",
    "Step",
    "derivation_steps",
    "limit_of_quotient",
]
