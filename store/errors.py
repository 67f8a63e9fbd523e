"""Domain errors of the knowledge base; the front ends turn them into one-line messages."""


class StoreError(Exception):
    """Base class of everything the store raises on purpose."""


class StoreUnavailableError(StoreError):
    """The Chroma store cannot be opened or reached."""


class EmptyStoreError(StoreError):
    """A question was asked of a store that holds no articles yet."""

    def __init__(self) -> None:
        super().__init__("the store is empty: run `newsdesk ingest PATH` to add articles first")
