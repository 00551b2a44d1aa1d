"""What a model learned, written into the graph as a version: `pipeline` writes one (`write_model`),
`versions` lists, activates, reads and removes them, `writers` tells a live write-back from an abandoned one.
The names of a version's parts are `graphrec.names`'."""

from graphrec.writeback.pipeline import augment_for_mips, write_model
from graphrec.writeback.transfer import WRITE_METHODS
from graphrec.writeback.versions import (
                                         WritebackError,
                                         activate,
                                         active_model,
                                         list_models,
                                         prune,
                                         read_embeddings,
                                         remove_abandoned,
                                         remove_version,
)

__all__ = ["WRITE_METHODS", "WritebackError", "activate", "active_model", "augment_for_mips", "list_models", "prune",
           "read_embeddings", "remove_abandoned", "remove_version", "write_model"]
