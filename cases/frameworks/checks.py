"""Whether a saved criteria set can be scored: what opening a cycle asks of each set.

The rules are the ones every set is saved under (`tree.problems`), the incomplete states an
editor may leave included: parents sum their children; every leaf has a scoring method and
its settings; no maximum is negative. The bonus and penalty items are outside the sum: their
maxima are the set's caps.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from cases.frameworks import tree
from cases.models import Framework


def set_problems(framework: Framework) -> list[str]:
    """Every reason the set cannot be scored, in tree order; empty when it can (one query)."""
    built = tree.from_framework(framework)
    if not any(node.is_leaf for node, _parent, _depth in built.walk()):
        return [_("The set has no criterion to score.")]
    return [
        f"{p.node.code} “{p.node.title}”: {p.message}" if p.node is not None else p.message
        for p in tree.problems(built)
    ]
