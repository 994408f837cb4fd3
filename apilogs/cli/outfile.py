"""A file the user names for apilogs to write (`show --export FILE`): checked before any AWS
call, never a symbolic link or a special file, an existing file replaced only when asked, and
written whole or not at all."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat

from apilogs.errors import InvalidInput

_NO_HARD_LINKS = frozenset(
    {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK, errno.ENOSYS}
)


def check_output_file(path: str, *, force: bool, option: str = "--export") -> None:
    """Raise InvalidInput (a usage error) when `path` cannot or must not be written: its folder
    is missing or not writable, it is a symbolic link or not a regular file (a FIFO would block
    the write, a device would take it), or it exists and `force` is not given. Done before the
    read, so a wrong path costs no AWS call."""
    folder = os.path.dirname(path) or "."
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise InvalidInput(f"{option} {path}: {exc.strerror}") from None
    if info is not None:
        _refuse_existing(path, info, force=force, option=option)
    if not os.path.isdir(folder):
        raise InvalidInput(f"{option} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InvalidInput(f"{option} {path}: cannot write in the folder {folder}")


def _refuse_existing(path: str, info: os.stat_result, *, force: bool, option: str) -> None:
    if stat.S_ISLNK(info.st_mode):
        # Writing through a link writes wherever it points: name the file itself.
        raise InvalidInput(f"{option} {path}: is a symbolic link; give the path of a file")
    if not stat.S_ISREG(info.st_mode):
        raise InvalidInput(f"{option} {path}: is not a regular file")
    if not force:
        raise InvalidInput(f"{option} {path}: the file exists (--force replaces it)")


def write_output_file(path: str, text: str, *, force: bool, option: str = "--export") -> None:
    """Write `text` to `path` atomically: a new file in the same folder (created exclusively,
    never through a link), then put in place. Without `force` an existing file is never
    replaced, also one that appeared since `check_output_file`."""
    folder = os.path.dirname(path) or "."
    data = text.encode("utf-8")
    temp = _write_temp(folder, os.path.basename(path), data, option=option)
    try:
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            info = None
        if info is not None:
            _refuse_existing(path, info, force=force, option=option)
        if force:
            # rename() replaces a link or file at `path` itself, never what a link points to.
            os.replace(temp, path)
        else:
            # link() fails if `path` exists by now: no file is clobbered in a race.
            try:
                os.link(temp, path)
            except FileExistsError:
                raise
            except OSError as exc:
                if exc.errno not in _NO_HARD_LINKS:
                    raise
                # A file system without hard links: the check above is as close as it gets.
                os.replace(temp, path)
            else:
                os.unlink(temp)
    except FileExistsError:
        _discard(temp)
        raise InvalidInput(f"{option} {path}: the file exists (--force replaces it)") from None
    except OSError as exc:
        _discard(temp)
        raise InvalidInput(f"{option} {path}: cannot write it: {exc.strerror}") from None
    except BaseException:
        _discard(temp)
        raise


def _write_temp(folder: str, name: str, data: bytes, *, option: str) -> str:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    for _ in range(100):
        temp = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            # 0o666 under the umask: the mode any new file of the user's gets.
            fd = os.open(temp, flags, 0o666)
        except FileExistsError:
            continue
        except OSError as exc:
            raise InvalidInput(
                f"{option} {os.path.join(folder, name)}: cannot write it: {exc.strerror}"
            ) from None
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            _discard(temp)
            raise InvalidInput(
                f"{option} {os.path.join(folder, name)}: cannot write it: {exc.strerror}"
            ) from None
        except BaseException:
            _discard(temp)
            raise
        return temp
    raise InvalidInput(
        f"{option}: cannot make a temporary file in {folder}: {os.strerror(errno.EEXIST)}"
    )


def _discard(temp: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(temp)
