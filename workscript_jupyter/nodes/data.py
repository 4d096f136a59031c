"""Data nodes over lists of items: filter, sort, aggregate, splitOut, limit, removeDuplicates,
summarize, compareDatasets (WORKFLOW-LANGUAGE.md §6).

The nodes live in ``data_filtering`` (filter, sort, limit), ``data_grouping`` (aggregate,
splitOut, summarize) and ``data_matching`` (removeDuplicates, compareDatasets); filter's
conditions are compiled in ``data_conditions``.
"""

from __future__ import annotations

from ..engine import Node
from .data_filtering import FilterNode, LimitNode, SortNode
from .data_grouping import AggregateNode, SplitOutNode, SummarizeNode
from .data_matching import CompareDatasetsNode, RemoveDuplicatesNode

__all__ = [
    "NODES",
    "AggregateNode",
    "CompareDatasetsNode",
    "FilterNode",
    "LimitNode",
    "RemoveDuplicatesNode",
    "SortNode",
    "SplitOutNode",
    "SummarizeNode",
]

NODES: tuple[type[Node], ...] = (
    FilterNode,
    SortNode,
    AggregateNode,
    SplitOutNode,
    LimitNode,
    RemoveDuplicatesNode,
    SummarizeNode,
    CompareDatasetsNode,
)
