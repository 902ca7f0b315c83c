"""One error hierarchy for everything a user can get wrong; the CLI maps each class to an exit code."""


class EdgeAIError(Exception):
    """Base of every error edgeai reports to a user. The message says what is wrong and where."""

    exit_code = 1


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


class StorageError(EdgeAIError):
    """A file or folder edgeai writes cannot be written: no space left, a file size limit, no permission, a file
    where a folder should be (names the file or folder)."""

    exit_code = 9
