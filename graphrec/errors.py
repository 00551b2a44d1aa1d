"""The error every room raises for settings that cannot be used: connection settings, an environment
variable, a run configuration's table or value. The CLI prints it as one line, exit code 1."""


class ConfigError(ValueError):
    """Settings that cannot be used; the message names the setting (and the file) and what it takes."""
