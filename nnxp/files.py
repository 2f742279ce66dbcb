"""The files a user names: inputs read as regular files within a size cap, outputs written
atomically to regular files only, each output distinct from the others and from the inputs.

Inputs: :func:`input_file` and :func:`read_input` accept a regular file (a symlink to one is
followed) and refuse, in one line, a missing path, a dangling symlink, a directory, a FIFO
(which would block the reader forever), a device (``/dev/zero`` never ends) or a socket, and a
file larger than the cap given for its kind.

Outputs: :func:`output_path` checks a path before any work starts: it must be absent or a
regular file (a symlink is followed and its target replaced, the link kept), its folder must
exist and take a new file (tried by creating one), and a path ending in ``/`` names a folder,
not a file. :func:`distinct_outputs` adds the rule that no two outputs, and no output and an
input, are the same file (by resolved path and by inode) or lie inside an input folder.
:func:`atomic_write` writes a temporary file beside the target and renames it into place, so
the target holds its old content or the complete new one; temporary files that a killed run
left beside the same target are removed first, and a full disk is one NnxpError line.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

from nnxp.errors import NnxpError
from nnxp.limits import human as _size

PathLike = str | os.PathLike[str]

TEMP_MARK = ".tmp"
"""Temporary files are named TARGET + TEMP_MARK + PID + '.' + random letters."""

STALE_SECONDS = 600.0
"""A temporary file whose writer cannot be identified counts as left behind after this long."""


def file_kind(mode: int) -> str:
    """What a non-regular file is, in a few words."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def dangling_link(path: PathLike) -> str | None:
    """"is a symbolic link to TARGET, which does not exist" when ``path`` is such a link (the
    reason a stat of it found nothing), else None."""
    if os.path.islink(path):
        return f"is a symbolic link to {os.readlink(path)}, which does not exist"
    return None


def _missing(path: Path, what: str, hint: str, error: type[NnxpError]) -> NnxpError:
    link = dangling_link(path)
    if link:
        return error(f"{what} {path} {link}; fix the link or name the file itself")
    return error(f"{what} {path} does not exist{hint}")


def input_file(
    path: PathLike, what: str, max_bytes: int, hint: str = "",
    error: type[NnxpError] = NnxpError,
) -> Path:
    """``path`` resolved, when it names a regular file of at most ``max_bytes``; else
    ``error`` (an NnxpError class) with one line.

    ``what`` names the input in the message ("model file", "pickle"); ``hint`` follows a
    "does not exist" (for example "; train one with ...").
    """
    text = os.fspath(path)
    if "\0" in text or not text:
        raise error(f"{what} {text!r} is not a path; name a regular file")
    path = Path(text)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise _missing(path, what, hint, error) from None
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{what} {path} is {file_kind(st.st_mode)}; name a regular file")
    if st.st_size > max_bytes:
        raise error(
            f"{what} {path} is {_size(st.st_size)}, more than the {_size(max_bytes)} a {what} "
            f"can be; check that it is the right file"
        )
    return Path(os.path.realpath(path))


def open_input(
    path: PathLike, what: str, max_bytes: int, hint: str = "",
    error: type[NnxpError] = NnxpError,
) -> IO[bytes]:
    """The regular file ``path`` (see :func:`input_file`) open for reading, opened without
    blocking and checked again on the open descriptor, so a FIFO put in its place after the
    first check cannot hang the reader."""
    path = input_file(path, what, max_bytes, hint, error)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise error(f"{what} {path} is {file_kind(mode)}; name a regular file")
    return os.fdopen(fd, "rb")


def read_input(
    path: PathLike, what: str, max_bytes: int, hint: str = "",
    error: type[NnxpError] = NnxpError,
) -> bytes:
    """The bytes of the regular file ``path`` (see :func:`open_input`), at most ``max_bytes``
    of them (read up to the size the file has, not a buffer the size of the cap)."""
    with open_input(path, what, max_bytes, hint, error) as f:
        try:
            data = f.read(min(os.fstat(f.fileno()).st_size, max_bytes) + 1)
        except OSError as exc:
            raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise error(f"{what} {path} grew past {_size(max_bytes)} while being read")
    return data


def output_path(path: PathLike, what: str = "output") -> Path:
    """The file that writing ``path`` replaces (a symlink resolved), checked before any work.

    Refuses in one line: a path ending in a separator, an existing target that is not a
    regular file (a device, FIFO, directory, socket), a folder that does not exist, and a
    folder or file that cannot be written (tried by creating and removing a temporary file,
    which also catches /proc and read-only file systems).
    """
    target = _target(path, what)
    try:
        probe = _new_temp(target)
    except OSError as exc:
        raise NnxpError(
            f"cannot write the {what} to {path}: {exc.strerror or exc}; choose a writable path"
        ) from None
    os.close(probe[0])
    os.unlink(probe[1])
    return target


def _target(path: PathLike, what: str) -> Path:
    """:func:`output_path`'s checks but the trial write: the resolved target."""
    text = os.fspath(path)
    if not text:
        raise NnxpError(f"the {what} path is empty; name a file")
    if "\0" in text:
        raise NnxpError(f"cannot write the {what} to {text!r}: a path cannot hold a NUL byte")
    if text.endswith(("/", os.sep)):
        raise NnxpError(
            f"cannot write the {what} to {text}: a path ending in '/' names a directory; "
            f"name a file in it, e.g. {text.rstrip('/' + os.sep) or '.'}/{what.split()[0]}.out"
        )
    given = Path(text)
    target = Path(os.path.realpath(given))
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise NnxpError(f"cannot write the {what} to {given}: {exc.strerror or exc}") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        if stat.S_ISDIR(st.st_mode):
            raise NnxpError(f"cannot write the {what} to {given}: it is a directory; name a file")
        raise NnxpError(
            f"cannot write the {what} to {given}: it is {file_kind(st.st_mode)}, and nnxp writes "
            f"regular files only; choose another path"
        )
    parent = target.parent
    if not parent.is_dir():
        shown = given.parent if str(given.parent) else Path(".")
        raise NnxpError(
            f"cannot write the {what} to {given}: directory {shown} does not exist; "
            "create it or choose another path"
        )
    if st is not None and not os.access(target, os.W_OK):
        raise NnxpError(f"cannot write the {what} to {given}: permission denied; "
                        "choose a writable path")
    return target


def _identity(path: Path) -> tuple[str, tuple[int, int] | None]:
    """(resolved path, (device, inode) when it exists) for comparing two paths."""
    real = os.path.realpath(path)
    try:
        st = os.stat(real)
    except OSError:
        return real, None
    return real, (st.st_dev, st.st_ino)


def distinct_outputs(
    outputs: Mapping[str, PathLike | None],
    inputs: Mapping[str, PathLike | None] = {},  # noqa: B006  (read only)
) -> dict[str, Path]:
    """Check every output (``{"--save": path, ...}``, None for absent) with :func:`output_path`
    and refuse two outputs naming one file, an output naming an input file, and an output
    inside an input folder (a data folder, the cache). Returns option -> resolved target."""
    targets: dict[str, Path] = {}
    seen: dict[str, str] = {}
    for option, path in outputs.items():
        if path is None:
            continue
        target = output_path(path, option.lstrip("-"))
        real, inode = _identity(target)
        for key in (real, inode):
            if key is not None and key in seen:
                raise NnxpError(
                    f"{seen[key]} and {option} both name {path}: each output needs its own file"
                )
        seen[real] = option
        if inode is not None:
            seen[inode] = option  # type: ignore[index]
        targets[option] = target
    for option, path in inputs.items():
        if path is None:
            continue
        real, inode = _identity(Path(path))
        for out_option, target in targets.items():
            out_real, out_inode = _identity(target)
            if real == out_real or (inode is not None and inode == out_inode):
                raise NnxpError(
                    f"{out_option} {outputs[out_option]} is also the input {option}: writing it "
                    f"would destroy what is read; write to another file"
                )
            if os.path.isdir(real) and Path(out_real).is_relative_to(real):
                raise NnxpError(
                    f"{out_option} {outputs[out_option]} lies inside {option} {path}: nnxp "
                    f"reads that folder; write elsewhere"
                )
    return targets


def _new_temp(target: Path) -> tuple[int, str]:
    """A new temporary file beside ``target`` named with this process's id: (fd, name)."""
    import secrets

    for _ in range(100):
        name = f"{target}{TEMP_MARK}{os.getpid()}.{secrets.token_hex(4)}"
        try:
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), name
        except FileExistsError:
            continue
    raise OSError(errno.EEXIST, "no free temporary name")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temps(target: PathLike) -> list[Path]:
    """Remove the temporary files that killed writers left beside ``target``; returns them.

    A temporary file belongs to a dead writer when the process id in its name no longer runs
    (on this machine), or, for names without one, when it is older than STALE_SECONDS. Files
    of a writer still running are left alone.
    """
    target = Path(target)
    prefix = target.name + TEMP_MARK
    removed = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return []
    for entry in entries:
        if not entry.name.startswith(prefix) or not entry.is_file(follow_symlinks=False):
            continue
        pid_text = entry.name[len(prefix):].split(".", 1)[0]
        try:
            stale = not _alive(int(pid_text)) if pid_text.isdigit() else (
                time.time() - entry.stat(follow_symlinks=False).st_mtime > STALE_SECONDS)
        except OSError:
            continue
        if stale:
            try:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
            except OSError:
                pass
    return removed


def atomic_write(
    path: PathLike, write: Callable[[IO[bytes]], None], what: str = "file"
) -> Path:
    """Call ``write(f)`` on a temporary file beside ``path``'s target, then rename it onto it.

    The target is ``path`` with symlinks resolved (the link stays a link). The temporary file
    is removed if anything fails, so the target holds its old content or the complete new
    one; an OSError (a full disk, a lost permission) becomes an NnxpError naming ``what``.
    Temporary files that killed runs left beside the target are removed first.
    """
    target = _target(path, what)  # creating the temporary file below is the trial write
    remove_stale_temps(target)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    try:
        fd, tmp = _new_temp(target)
    except OSError as exc:
        raise NnxpError(
            f"cannot write the {what} to {path}: {exc.strerror or exc}; choose a writable path"
        ) from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        fix = "free some space or choose another path" if exc.errno in (
            errno.ENOSPC, errno.EDQUOT) else "choose another path"
        raise NnxpError(
            f"cannot write the {what} to {path}: {exc.strerror or exc}; {fix} "
            f"(nothing was changed there)"
        ) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(path)


def atomic_write_text(path: PathLike, text: str, what: str = "file") -> Path:
    """Write UTF-8 text to ``path`` atomically (see :func:`atomic_write`)."""
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")), what)
