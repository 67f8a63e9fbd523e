"""Why a source could not be loaded."""


class LoadError(Exception):
    """A source (file, record, page) that cannot become an article; the message says why."""
