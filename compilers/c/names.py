"""What text from outside may reach the emitted C: the prefix as an identifier, model-supplied names as inert text.

A model file is untrusted. Its tensor, node and graph names (and its file name) appear in the library only
through c_text, which keeps a name readable inside a C comment or string literal and unable to end either:
gcc takes a lone carriage return as a line break, a backslash before it as a line splice (so `*\\<CR>/` closes a
comment), `??/` as a backslash under -std=c99, and warns (an error under -Werror) on bidirectional controls.
No C identifier is ever made from a model name: identifiers come from the prefix, checked here, and counters.
"""

from __future__ import annotations

import re

from edgeai.errors import EdgeAIError

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,30}$")
_C_KEYWORDS = {"auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum",
               "extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return",
               "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void",
               "volatile", "while"}
# Printable ASCII except the backslash (escapes and line splices) and the double quote (ends a string literal).
_PLAIN = frozenset(chr(c) for c in range(0x20, 0x7F)) - {"\\", '"'}
# Pairs that would open or close a comment, or start a trigraph: the second character is replaced.
_PAIRS = {("*", "/"), ("/", "*"), ("?", "?")}
TEXT_LIMIT = 64


def c_text(text: object, limit: int = TEXT_LIMIT) -> str:
    """`text` as printable ASCII that is inert inside a C comment and a C string literal, at most `limit` characters.

    Any other character (control, non-ASCII, backslash, double quote) becomes `_`; so does the second character
    of `*/`, `/*` and `??`. Longer text keeps its first `limit - 3` characters and ends in `...`."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    out: list[str] = []
    for ch in str(text):
        ch = ch if ch in _PLAIN else "_"
        if out and (out[-1], ch) in _PAIRS:
            ch = "_"
        out.append(ch)
    if len(out) > limit:
        out = out[:limit - 3] + ["..."]
    return "".join(out)


def check_prefix(prefix: str) -> str:
    """The prefix names the library's files, functions and macros; refuse one that is not a C identifier or that
    collides with what the runtime and firmware define (edgeai_*, EDGEAI_*, BENCH_*, reserved _names)."""
    if not isinstance(prefix, str) or not _IDENT.match(prefix) or prefix in _C_KEYWORDS:
        raise EdgeAIError(f"prefix {prefix!r} is not a C identifier (letters, digits, _; not starting with a digit; "
                          f"at most 31 characters)")
    why = _reserved(prefix)
    if why:
        raise EdgeAIError(f"prefix {prefix!r} is reserved: {why}; choose another --prefix")
    return prefix


def _reserved(prefix: str) -> str | None:
    low = prefix.lower()
    if low.startswith("edgeai"):
        return ("names starting with 'edgeai' belong to the runtime and the firmware (edgeai_runtime.h, "
                "edgeai_bench_model.h, edgeai_* functions, EDGEAI_* macros)")
    if low == "bench":
        return "the benchmark firmware defines the BENCH_* macros"
    if prefix.startswith("_"):
        return "C reserves identifiers starting with an underscore to the compiler and its library"
    return None
