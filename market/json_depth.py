"""How deeply a JSON text nests arrays and objects, measured on the text before it is parsed.

Python's json parser, rfc8785's canonicaliser, the serializers and the encoders all recurse once
per level, so ten thousand `[` are a RecursionError wherever the value is first walked. This scan
does not recurse and is linear in the text: strings (escapes included) are dropped first, then the
brackets that are left are counted. Text that is not JSON gets some number; the parser refuses it
after.
"""

from __future__ import annotations

import re
from itertools import accumulate

# A string token from its opening quote to its closing quote, or to the end of the text when it is
# unterminated (a backslash may be the text's last character). Every match attempt that starts at a
# quote succeeds, so re.sub never rescans: linear even for text made of escaped quotes.
_STRING = re.compile(r'"[^"\\]*(?:\\(?:.|\Z)[^"\\]*)*(?:"|\Z)', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def nesting_depth(text: str) -> int:
    """The deepest level of arrays and objects; the top-level value's own brackets are level 1."""
    if "[" not in text and "{" not in text:
        return 0
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def nests_deeper_than(text: str, limit: int) -> bool:
    # A text with no more opening brackets than the limit cannot nest deeper: most bodies stop here.
    if text.count("[") + text.count("{") <= limit:
        return False
    return nesting_depth(text) > limit
