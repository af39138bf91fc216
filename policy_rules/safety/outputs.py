"""Writing files so that nothing is lost: a temporary file beside the target, renamed in when complete.

A register run can take minutes and can be stopped at any moment (Ctrl-C, a
CI job cancelled, a full disk). Writing straight to ``--output`` would leave a
truncated file that looks finished, or destroy whatever was there before. So
every file the tool writes goes to a temporary file in the same folder (a
rename within one folder is atomic) and takes the final name only once it is
complete; on any failure the temporary file is removed and the old file, if
any, is left as it was. An output that is the same file as one of the inputs
is refused before anything is read, since writing it would destroy the input.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from policy_rules.errors import UsageError


def _same_file(a: str, b: str) -> bool:
    """Whether two paths name one file: by device and inode when both exist (links too), else by resolved path."""
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def _files_in(path: str) -> Iterable[str]:
    if os.path.isdir(path):
        for folder, _subfolders, names in os.walk(path):
            for name in names:
                yield os.path.join(folder, name)
    else:
        yield path


def refuse_overwriting_inputs(outputs: Iterable[tuple[str, str]], inputs: Iterable[tuple[str, str]]) -> None:
    """A ``UsageError`` when an output (option, path) is an input (what it is, path) or another output.

    Rule folders are looked through file by file, so an output hard-linked or
    symlinked to a rule file is caught as well.
    """
    outs = list(outputs)
    named = [(what, file) for what, path in inputs for file in _files_in(path)]
    for i, (option, path) in enumerate(outs):
        if os.path.isdir(path):
            raise UsageError("this is a folder; give the name of a file to write", path)
        for what, file in named + [(f"the file given to {o}", p) for o, p in outs[:i]]:
            if _same_file(path, file):
                raise UsageError(f"{option} names {what} ({file}); writing there would destroy it, so give another file name", path)


def _mode_for(path: str) -> int:
    """The permissions the file would have if written in place: those of the file it replaces, or the umask's."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


class AtomicFile:
    """A text file written under a temporary name and renamed to ``path`` by ``commit()``; ``discard()`` removes it.

    The file gets ``mode``, or else the permissions of the file it replaces
    (or the umask's, for a new file).
    """

    def __init__(self, path: str, *, mode: int | None = None) -> None:
        self.path = path
        target = Path(path)
        try:
            fd, self.temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=str(target.parent))
        except OSError as error:
            raise UsageError(f"cannot write in this folder ({error.strerror})", path) from None
        with contextlib.suppress(OSError):  # a filesystem without permissions (a mounted share): the temporary file's mode stands
            os.fchmod(fd, _mode_for(path) if mode is None else mode)
        self.file: IO[str] = os.fdopen(fd, "w", encoding="utf-8", newline="")
        self.done = False

    def commit(self) -> None:
        """Finish the file and give it its final name; a failure is a ``UsageError`` and the temporary file is removed."""
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
            os.replace(self.temporary, self.path)
        except OSError as error:
            self.discard()
            raise UsageError(f"cannot write this file ({error.strerror}); nothing was written", self.path) from None
        self.done = True

    def discard(self) -> None:
        """Remove the temporary file; the final name keeps whatever it held before."""
        if self.done:
            return
        self.done = True
        with contextlib.suppress(OSError):
            self.file.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.temporary)


def write_whole(path: str | Path, text: str, *, mode: int | None = None) -> None:
    """Write ``text`` to ``path`` as one ``AtomicFile``: a reader never sees half of it."""
    out = AtomicFile(str(path), mode=mode)
    try:
        out.file.write(text)
    except BaseException:
        out.discard()
        raise
    out.commit()
