"""Input files → text, refused whole when they are not clean UTF-8 text.

Every file reader of `graphrec.load` starts here: a missing or unreadable file, a NUL byte, bytes that are not
UTF-8 and a file with nothing but blanks are `InputError`s naming the file (and the line); a UTF-8 byte-order
mark (as spreadsheet programs write) is dropped.
"""

from __future__ import annotations

from pathlib import Path

from graphrec.load.dataset import InputError


def read_text(path: Path) -> str:
    """The text of the UTF-8 file `path` (see the module docstring)."""
    label = str(path)
    if path.is_dir():
        raise InputError(label, "is a folder, not a file")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(label, "no such file") from None
    except OSError as error:
        raise InputError(label, f"cannot be read ({error.strerror or error})") from None
    nul = data.find(b"\0")
    if nul >= 0:
        raise InputError(label, "holds a NUL byte (binary data, or text in UTF-16?): save it as UTF-8 text",
                         line=_line_of(data, nul))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(label, f"byte 0x{data[error.start]:02x} is not UTF-8: save the file as UTF-8 text",
                         line=_line_of(data, error.start)) from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise InputError(label, "the file is empty", line=1)
    return text


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1
