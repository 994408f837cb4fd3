r"""Untrusted text → text that is safe to write to a terminal.

A log message is written by whoever called the API (a header, a path, a body echoed by a Lambda),
so it may carry terminal escape sequences: colour codes that fake a status, OSC 8 hyperlinks that
point elsewhere than they say, OSC 52 clipboard writes, BEL, or CR / backspace tricks that overwrite
what was printed before. Bidi controls (Trojan Source) and invisible format characters can make a
line read differently from what it holds.

`sanitize` turns every such character into a visible escape in Python's own notation
(``\x1b``, ``\r``, ``\u202e``, ``\U000e0041``), so the text is inert and the reader still sees
that something was there. What counts as unsafe: Unicode categories Cc (C0, DEL, C1), Cf
(format: bidi controls, zero-width characters, tag characters, soft hyphen…), Cs (lone
surrogates, which would also crash a UTF-8 writer), Zl and Zp (U+2028/2029, which some terminals
and viewers break lines at).

Deliberate choices:

- ``\t`` is kept. It only moves the cursor forward to the next tab stop, it cannot erase or
  overwrite anything (setting tab stops needs ESC, which is escaped), and Lambda's runtime lines
  and REPORT lines are tab-separated: keeping it leaves plain output friendly to ``cut -f`` and
  ``awk -F'\t'``. Rich and Textual expand tabs themselves.
- ``\r\n`` counts as one line break (``\n``): a CR right before LF cannot overwrite anything.
  Any other CR is escaped as ``\r``.
- With ``keep_newlines=False`` a line break becomes ``⏎`` (U+23CE), not a literal backslash-n: JSON
  log messages are full of literal ``\n`` escapes already, and ``⏎`` tells a real line break apart.
- The escapes are for reading, not reversible: a message that already contains the six characters
  ``\x1b`` looks the same as one holding ESC. The JSON output keeps the message verbatim.
- ZWJ (U+200D) is Cf too, so emoji sequences joined by it show their parts and ``\u200d``: the
  truth about the bytes matters more than pretty emoji in a log viewer.
- Combining marks, private-use and unassigned code points are left alone: they cannot move the
  cursor or reorder text.
"""

from __future__ import annotations

import codecs
import re
from functools import lru_cache

__all__ = ["NEWLINE_MARK", "UNSAFE_RANGES", "safe_for_encoding", "sanitize"]

NEWLINE_MARK = "⏎"

# Inclusive code point ranges, from Unicode 14's Cc/Cf/Cs/Zl/Zp (what Python 3.11 ships), widened
# to whole blocks where later Unicode versions add format characters (U+2065, U+13439–1343F,
# the tag block), so a newer Python does not open a gap. tests/test_sanitize.py checks that
# every Cc/Cf/Cs/Zl/Zp character of the running Python is covered. \t and \n are in here too;
# sanitize() carves them out.
UNSAFE_RANGES: tuple[tuple[int, int], ...] = (
    (0x0000, 0x001F),  # C0 controls: NUL, BEL, BS, TAB, LF, CR, ESC …
    (0x007F, 0x009F),  # DEL, C1 controls (0x9B is a one-byte CSI, 0x9D a one-byte OSC)
    (0x00AD, 0x00AD),  # soft hyphen: invisible in most places
    (0x0600, 0x0605),  # Arabic number signs (prepended format characters)
    (0x061C, 0x061C),  # Arabic letter mark (bidi)
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),  # Mongolian vowel separator (zero width)
    (0x200B, 0x200F),  # ZWSP, ZWNJ, ZWJ, LRM, RLM
    (0x2028, 0x202E),  # line/paragraph separators; LRE, RLE, PDF, LRO, RLO
    (0x2060, 0x206F),  # word joiner, invisible operators; LRI, RLI, FSI, PDI; deprecated formats
    (0xD800, 0xDFFF),  # lone surrogates (from surrogateescape decoding)
    (0xFEFF, 0xFEFF),  # BOM / zero-width no-break space
    (0xFFF9, 0xFFFB),  # interlinear annotation controls
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),  # Egyptian hieroglyph format controls
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical symbol format controls
    (0xE0000, 0xE007F),  # tag characters: invisible ASCII look-alikes ("ASCII smuggling")
)


def _escape(code: int) -> str:
    if code == 0x0D:
        return "\\r"
    if code == 0x0A:
        return "\\n"
    if code == 0x09:
        return "\\t"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _char_class(codes: list[int]) -> str:
    """A regex character class for ascending `codes`, as compact ranges."""
    parts: list[str] = []
    start = prev = codes[0]
    for code in [*codes[1:], -1]:
        if code != prev + 1:
            parts.append(f"\\U{start:08x}-\\U{prev:08x}")
            start = code
        prev = code
    return "[" + "".join(parts) + "]"


_UNSAFE_CODES = [code for low, high in UNSAFE_RANGES for code in range(low, high + 1)]
_MULTILINE_CODES = [code for code in _UNSAFE_CODES if code not in (0x09, 0x0A)]
_ONE_LINE_CODES = [code for code in _UNSAFE_CODES if code != 0x09]

# The slow path: one regex pass that finds each unsafe character (or CRLF) and swaps in its
# escape. About 13 ns a character here (the astral ranges keep sre from using its bitmap), so it
# only runs when the cheap checks in sanitize() could not clear the line.
_UNSAFE_MULTILINE = re.compile("\r\n|" + _char_class(_MULTILINE_CODES))
_UNSAFE_ONE_LINE = re.compile("\r\n|" + _char_class(_ONE_LINE_CODES))
_ESCAPES_MULTILINE = {chr(code): _escape(code) for code in _MULTILINE_CODES} | {"\r\n": "\n"}
_ESCAPES_ONE_LINE = _ESCAPES_MULTILINE | {"\n": NEWLINE_MARK, "\r\n": NEWLINE_MARK}


def _swap_multiline(match: re.Match[str]) -> str:
    return _ESCAPES_MULTILINE[match.group()]


def _swap_one_line(match: re.Match[str]) -> str:
    return _ESCAPES_ONE_LINE[match.group()]


def sanitize(text: str, *, keep_newlines: bool = True) -> str:
    r"""Return `text` with every unsafe character turned into a visible escape (see module doc).

    keep_newlines=True: ``\n`` and ``\r\n`` stay line breaks (as ``\n``).
    keep_newlines=False: they become ``⏎`` and the result is a single line.
    ``\t`` is kept either way. Clean text is returned as is (the same object)."""
    # str.isprintable() is False for every unsafe character (all are Unicode "Other" or
    # "Separator"), runs in C and stops at the first miss, so a clean line costs one scan.
    if text.isprintable():
        return text
    # Tabs and newlines are the usual reason it said no (Lambda lines are tab-separated, stack
    # traces multi-line): both are safe here, so look again without them.
    rest = text.replace("\t", "")
    if keep_newlines:
        rest = rest.replace("\n", "")
    if rest.isprintable():
        return text
    if not keep_newlines and rest.replace("\n", "").isprintable():
        # Only line breaks to mark (a multi-line message shown on one line), and no CR among them.
        return text.replace("\n", NEWLINE_MARK)
    # Something non-printable is left, safe (NBSP, private use, unassigned) or not. re.sub hands
    # back the same string when nothing matched.
    if keep_newlines:
        return _UNSAFE_MULTILINE.sub(_swap_multiline, text)
    return _UNSAFE_ONE_LINE.sub(_swap_one_line, text)


@lru_cache(maxsize=32)
def _codec(encoding: str) -> tuple[str, bool]:
    """The codec's canonical name, and whether it round-trips all of ASCII."""
    name = codecs.lookup(encoding).name
    # Nearly every terminal encoding does; checking keeps the ASCII fast path exact for the odd
    # one that does not.
    sample = "".join(map(chr, range(128)))
    try:
        return name, sample.encode(name).decode(name) == sample
    except UnicodeError:
        return name, False


def safe_for_encoding(text: str, encoding: str) -> str:
    r"""Replace what `encoding` cannot represent with backslash escapes (``é`` → ``\xe9`` in ASCII).

    For writing to a terminal or pipe whose encoding is not UTF-8, so printing never raises
    UnicodeEncodeError. Apply after `sanitize`. Raises LookupError for an unknown encoding."""
    name, keeps_ascii = _codec(encoding)
    if keeps_ascii and text.isascii():
        return text
    return text.encode(name, "backslashreplace").decode(name)
