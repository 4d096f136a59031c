"""One module per schema revision, applied in order by ``workscript_jupyter.store.migrate``."""
