"""Reading the book's text files (UTF-8, a byte order mark accepted) and the change-aware,
atomic file writes shared by the stages that write the build tree."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from d2lbook.errors import BookError

UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")


class EncodingError(BookError):
    """A text file of the book is not UTF-8."""


def read_source(path: Path, advice: str = "save it as UTF-8") -> str:
    """The text of a chapter or config file: UTF-8, a leading byte order mark dropped.
    Anything else is an ``EncodingError`` naming the file, line and byte offset."""
    data = Path(path).read_bytes()
    return decode_source(data, path, advice)


def decode_source(data: bytes, path: str | Path, advice: str = "save it as UTF-8") -> str:
    """``data`` read from ``path`` as UTF-8 (see ``read_source``); ``advice`` may name the
    file's likely ``{encoding}``."""
    if data.startswith(UTF16_MARKS):
        raise EncodingError(
            f"the file is UTF-16, not UTF-8; {advice.format(encoding='utf-16')}", path, 1
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise EncodingError(
            f"not UTF-8: byte 0x{data[error.start]:02x} at byte offset "
            f"{error.start} cannot be decoded; {advice.format(encoding='latin1')}",
            path,
            line,
        ) from None


def write_if_changed(path: Path, content: str | bytes) -> bool:
    """Write atomically unless the file already holds ``content``; True if written."""
    data = content.encode() if isinstance(content, str) else content
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
    return True


def same_content(source: Path, target: Path) -> bool:
    """Whether ``target`` already holds ``source``'s bytes. A copy keeps the source's
    size and modification time, so those settle it without reading large resources."""
    if not target.is_file():
        return False
    source_stat, target_stat = source.stat(), target.stat()
    if source_stat.st_size != target_stat.st_size:
        return False
    if source_stat.st_mtime_ns == target_stat.st_mtime_ns:
        return True
    if source.read_bytes() != target.read_bytes():
        return False
    shutil.copystat(source, target)  # equal bytes, new times (a fresh clone): next time is cheap
    return True


def copy_if_changed(source: Path, target: Path) -> None:
    """Copy a file or a folder's files, skipping those whose content already matches."""
    if source.is_file():
        if not same_content(source, target):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        return
    for path in sorted(source.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            copy_if_changed(path, target / path.relative_to(source))
