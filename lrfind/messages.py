"""How an exception is told in one line: its own words, without Keras's wrapping."""

from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_WRAPPER = "Exception encountered when calling"
_ARGUMENTS = "Arguments received by"
MAX_CHARS = 300


def first_line(error: BaseException) -> str:
    """The line of ``error``'s message that says what went wrong, at most 300 characters.

    Keras wraps an error raised inside a layer in "Exception encountered when calling
    X.call()." and a list of the arguments received; the layer's own words are between.

    >>> wrapped = ValueError("Exception encountered when calling Sequential.call().\\n\\n"
    ...     "\\x1b[1mInput 0 of layer 'dense' is incompatible with the layer\\x1b[0m\\n\\n"
    ...     "Arguments received by Sequential.call():\\n  • inputs=...")
    >>> first_line(wrapped)
    "Input 0 of layer 'dense' is incompatible with the layer"
    """
    text = _ANSI.sub("", str(error))
    text = text.split(_ARGUMENTS, 1)[0]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    own = [line for line in lines if not line.startswith(_WRAPPER)]
    return (own or lines or [""])[0][:MAX_CHARS]
