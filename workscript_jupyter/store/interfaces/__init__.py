"""The store's interface, one module per entity family; ``store.base`` re-exports them all
with the ``Store`` facade that holds one of each."""
