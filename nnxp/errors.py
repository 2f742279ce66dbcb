"""The errors nnxp raises on purpose: each message is one line naming the problem and the fix."""


class NnxpError(Exception):
    """Base of every error nnxp raises for bad input or an unusable environment."""


class BackendUnavailable(NnxpError):
    """The array library asked for cannot run here (not installed, or no device)."""


class DatasetError(NnxpError):
    """A data file is missing, malformed or cannot be fetched."""


class ModelFileError(NnxpError):
    """A model file is missing, corrupt or does not match what it claims to hold."""
