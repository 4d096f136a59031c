"""The built-in node catalogue, one module per family.

``builtin_registry()`` registers every built-in node by its id and imports a node's module only
when the node is first used (``NodeRegistry.register_lazy``): checking a workflow imports no node
module, and running one imports only the families it uses — not httpx for a workflow without
``fetchApi``. ``BUILTIN_INDEX`` is where each id lives; a test checks it against the modules.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from ..engine import Node, NodeRegistry

    BUILTIN_NODES: tuple[type[Node], ...]  # every built-in class, in catalogue order (below)

__all__ = ["BUILTIN_INDEX", "BUILTIN_NODES", "builtin_registry"]

BUILTIN_INDEX: Final[dict[str, str]] = {
    # node id: "module:Class" under workscript_jupyter.nodes, in catalogue order
    "math": "core:MathNode",
    "logic": "core:LogicNode",
    "transform": "core:TransformNode",
    "log": "core:LogNode",
    "empty": "core:EmptyNode",
    "end": "core:EndNode",
    "wait": "core:WaitNode",
    "range": "iterators:RangeNode",
    "every-array-item": "iterators:EveryArrayItemNode",
    "while": "iterators:WhileNode",
    "filter": "data_filtering:FilterNode",
    "sort": "data_filtering:SortNode",
    "limit": "data_filtering:LimitNode",
    "aggregate": "data_grouping:AggregateNode",
    "splitOut": "data_grouping:SplitOutNode",
    "summarize": "data_grouping:SummarizeNode",
    "removeDuplicates": "data_matching:RemoveDuplicatesNode",
    "compareDatasets": "data_matching:CompareDatasetsNode",
    "arrayUtilities": "arrays:ArrayUtilitiesNode",
    "stringOperations": "text:StringOperationsNode",
    "extractText": "text_extract:ExtractTextNode",
    "jsonExtract": "text_json:JsonExtractNode",
    "editFields": "objects:EditFieldsNode",
    "transformObject": "objects:TransformObjectNode",
    "objectUtilities": "objects_utilities:ObjectUtilitiesNode",
    "mathOperations": "objects_math:MathOperationsNode",
    "dateTime": "dates:DateTimeNode",
    "validateData": "validation:ValidateDataNode",
    "switch": "branching:SwitchNode",
    "calculateField": "branching:CalculateFieldNode",
    "auth": "crypto:AuthNode",
    "fetchApi": "http:FetchApiNode",
    "filesystem": "files:FilesystemNode",
    "database": "database:DatabaseNode",
    "notebook": "notebook:NotebookNode",
    "python": "notebook:PythonNode",
    "runWorkflow": "workflows:RunWorkflowNode",
    "resource-read": "resources:ResourceReadNode",
    "resource-write": "resources:ResourceWriteNode",
    "resource-interpolate": "resource_interpolate:ResourceInterpolateNode",
    "resource-list": "resources:ResourceListNode",
    "ask-ai": "ai:AskAINode",
    "googleConnect": "google_gmail:GoogleConnectNode",
    "sendEmail": "google_gmail:SendEmailNode",
    "listEmails": "google_gmail:ListEmailsNode",
    "getEmail": "google_gmail:GetEmailNode",
    "modifyEmail": "google_gmail:ModifyEmailNode",
    "listEvents": "google_calendar:ListEventsNode",
    "createEvent": "google_calendar:CreateEventNode",
    "updateEvent": "google_calendar:UpdateEventNode",
    "deleteEvent": "google_calendar:DeleteEventNode",
    "freeBusy": "google_calendar:FreeBusyNode",
    "listFiles": "google_drive:ListFilesNode",
    "downloadFile": "google_drive:DownloadFileNode",
    "uploadFile": "google_drive:UploadFileNode",
    "createFolder": "google_drive:CreateFolderNode",
    "shareFile": "google_drive:ShareFileNode",
}


def _loader(target: str, package: str = __name__) -> Any:
    """A function that imports ``module:Class`` (a module of ``package``), returning the class."""

    def load() -> type[Node]:
        module, _, name = target.partition(":")
        node_cls: type[Node] = getattr(import_module(f"{package}.{module}"), name)
        return node_cls

    return load


def builtin_registry(*, plugins: bool = True, plugins_on_demand: bool = False) -> NodeRegistry:
    """A registry with every built-in node, plus installed plugins unless ``plugins=False``.

    ``plugins_on_demand``: look the plugins up only when a node id is not a built-in (or the
    whole catalogue is listed), as the ``workscript`` command does to start fast; the nodes
    found are the same. The state setter is listed for the catalogue; the engine runs it
    whatever the registry holds.
    """
    from ..engine.model import SETTER
    from ..engine.registry import NodeRegistry

    registry = NodeRegistry()
    for node_id, target in BUILTIN_INDEX.items():
        registry.register_lazy(node_id, _loader(target))
    registry.register_lazy(SETTER, _loader("setter:StateSetter", "workscript_jupyter.engine"))
    if plugins:
        registry.load_entry_points(on_demand=plugins_on_demand)
    return registry


def __getattr__(name: str) -> Any:
    # BUILTIN_NODES imports every node module: built when first asked for, not at import
    if name == "BUILTIN_NODES":
        nodes = tuple(_loader(target)() for target in BUILTIN_INDEX.values())
        globals()["BUILTIN_NODES"] = nodes
        return nodes
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
