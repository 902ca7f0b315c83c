"""One error hierarchy for everything a user can get wrong; the CLI maps each class to an exit code."""

from __future__ import annotations


class EdgeAIError(Exception):
    """Base of every error edgeai reports to a user. The message says what is wrong and where."""

    exit_code = 1

    def __init__(self, message: str = "", *, file: str | None = None, node: str | None = None):
        super().__init__(message)
        self.file = file  # the file at fault, when the raiser knows it (`--json` errors report it)
        self.node = node  # the graph node at fault, likewise


class ModelError(EdgeAIError):
    """The model file cannot be read, or holds something we cannot compile (names file, node or tensor)."""

    exit_code = 2


class UnsupportedOpError(ModelError):
    exit_code = 3


class TargetError(EdgeAIError):
    """Unknown target, or a model that does not fit it."""

    exit_code = 4


class ToolchainError(EdgeAIError):
    """A compiler, linker or emulator is missing or failed."""

    exit_code = 5


class RuntimeFailure(EdgeAIError):
    """Running a compiled model failed (status code from the C library, emulator crash, link lost)."""

    exit_code = 6


class DataError(EdgeAIError):
    """Input or calibration data of the wrong shape, dtype or range."""

    exit_code = 7


class ValidationFailed(EdgeAIError):
    """`edgeai validate`: the target's outputs are not within the bound its numerics promise (or not bit-exact
    under --require-exact)."""

    exit_code = 8


class StorageError(EdgeAIError):
    """A file or folder edgeai writes cannot be written: no space left, a file size limit, no permission, a file
    where a folder should be (names the file or folder)."""

    exit_code = 9


class PlaceUnavailable(TargetError):
    """A labgrid place behind a coordinator cannot be had: no such place, acquired by someone else (names the
    place and its holder), its exporter gone, or the coordinator unreachable."""

    exit_code = 10
