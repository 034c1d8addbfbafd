"""Content rules: text every message must hold (`--must-contain`) and words none may hold
(`--forbidden-words FILE`), checked before sending instead of learnt from the provider's code 4.

Matching compares texts with their whitespace runs made one space and in Unicode NFC. A required
text must appear as written (its plain GSM-7 form counts too, for `--gsm-safe`); a forbidden word
matches case-insensitively (`casefold`, as the provider does), which for Chinese is a plain
substring.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from batch_sms.checks.segments import plain
from batch_sms.models import content_key

__all__ = ["ContentRules", "parse_words"]


def parse_words(text: str) -> tuple[str, ...]:
    """The words of a forbidden-words file: one word or phrase a line, `#` starts a comment line,
    blank lines skipped, surrounding spaces trimmed, each word once."""
    words = (line.strip() for line in text.splitlines())
    return tuple(dict.fromkeys(w for w in words if w and not w.startswith("#")))


@dataclass(frozen=True)
class ContentRules:
    """The campaign's content rules; `problem` says what a text breaks, "" when nothing."""

    must_contain: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        """True when there is any rule to check."""
        return bool(self.must_contain or self.forbidden)

    def problem(self, text: str) -> str:
        """Why `text` may not be sent under these rules ("; "-joined), or "" when it may."""
        return _problem(self, text) if self else ""


@lru_cache(maxsize=4096)
def _problem(rules: ContentRules, text: str) -> str:
    """`ContentRules.problem`, cached per text (most campaigns send a few texts)."""
    key = content_key(text)
    folded = key.casefold()
    found = [
        f'text lacks required "{required}"'
        for required in rules.must_contain
        if content_key(required) not in key and content_key(plain(required)) not in key
    ]
    found += [
        f'text holds forbidden word "{word}"'
        for word in rules.forbidden
        if content_key(word).casefold() in folded
    ]
    return "; ".join(found)
