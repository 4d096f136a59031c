"""The one exception tree of workscript-jupyter. Every layer may import it.

::

    WorkscriptError
    ├── WorkflowValidationError (ValueError)   the document is malformed or invalid; .issues
    ├── NodeNotFoundError (LookupError)         a node type that no registry knows
    ├── NodeExecutionError                      a node failed while running; .node_path, .node_type
    │   ├── NodeTimeoutError (TimeoutError)     a node ran past its ``_timeoutSeconds``
    │   └── NodeParameterError (TypeError)      a parameter of the wrong type; .parameter
    ├── LoopLimitError                          a loop node ran past ``maxLoopIterations``
    ├── StateTooLargeError                      a run's state past its size limit; .key
    ├── StateReferenceError (ValueError)        a state path that cannot be read or written
    ├── ConfigurationError (ValueError)         bad configuration of the package itself
    ├── BadRequestError (ValueError)            a request the service cannot read (400)
    │   └── DocumentError                           JSON/YAML text that cannot be read (syntax)
    │       └── DocumentLimitError                  ...or a limit refuses: depth, NaN, aliases
    ├── AuthenticationError                     no valid credential: bad/expired token, key (401)
    ├── PermissionDeniedError (PermissionError) the caller may not do this (403)
    │   └── AccountLockedError                      too many failed logins; .retry_after (429)
    ├── PayloadTooLargeError                    a request body over the limit (413)
    ├── UnsupportedMediaTypeError               a body that is not JSON (415)
    ├── UnprocessableError (ValueError)         well-formed but not doable now (422)
    │   ├── ValueTooDeepError                       a value too deep (or circular) to write as JSON
    │   └── SecretUnreadableError                   a stored secret no configured key opens
    ├── TooManyRequestsError                    a rate limit; .retry_after seconds (429)
    │   └── TooManyRunsError                        too many runs queued by one user
    ├── ServiceUnavailableError                 a service the request needs is off or down (503)
    │   ├── MailUnavailableError                    no email configured, or the SMTP server failed
    │   └── GoogleNotConfiguredError                no Google OAuth client configured
    ├── StoreError                              the workscript store refused or failed a call
    │   ├── RecordNotFoundError (LookupError)       no such row, or not yours (the same answer)
    │   ├── ConflictError                           a unique rule (username, email, path...)
    │   │   └── FireAlreadyClaimedError                 another server claimed this tick
    │   └── StoreUnavailableError (ConnectionError) the database cannot be reached
    ├── DatabaseGatewayError                    a database call failed (message safe to show)
    │   ├── MissingDriverError (ImportError)        the URL's driver is not installed
    │   ├── DatabaseUnavailableError (ConnectionError)  unreachable, or the login is refused
    │   ├── UnknownTableError (LookupError)
    │   ├── UnknownColumnError (LookupError)
    │   └── DatabaseQueryError (ValueError)         the database refused the statement
    ├── NotebookError                           a headless notebook run cannot start
    │   ├── NotebookPathError (ValueError)          a path outside the run root (.., symlink...)
    │   ├── NotebookNotFoundError (FileNotFoundError)  no notebook at that path
    │   ├── NotebookFormatError (ValueError)        the file is not a readable notebook
    │   ├── NotebookParameterError (ValueError)     a parameter that is not a JSON-like value
    │   ├── KernelNotFoundError (LookupError)       no kernelspec of that name
    │   ├── PythonCodeError                         code of a ``python`` step raised; .traceback
    │   └── OwnerServerError                        on a hub: the owner's server is away (run fails)
    ├── AIError                                 the AI provider (OpenRouter) failed a call; .code
    │   ├── AIMissingKeyError (ServiceUnavailableError)  MISSING_API_KEY: no key configured (503)
    │   ├── AIAuthError (ServiceUnavailableError)   AUTH_FAILED: the provider refused our key (503)
    │   ├── AIModelNotFoundError (BadRequestError)  MODEL_NOT_FOUND: no such model (400)
    │   ├── AIInvalidRequestError (BadRequestError) INVALID_REQUEST: the provider refused it (400)
    │   ├── AIRateLimitedError (TooManyRequestsError)  RATE_LIMITED after the retries (429)
    │   ├── AIBudgetExceededError (TooManyRequestsError)  BUDGET_EXCEEDED: the month's budget (429)
    │   ├── AIModelNotPricedError (UnprocessableError)  MODEL_NOT_PRICED: no price, a budget (422)
    │   ├── AITimeoutError (ServiceUnavailableError, TimeoutError)  TIMEOUT (503)
    │   └── AIProviderError (ServiceUnavailableError)  PROVIDER_ERROR: 5xx, unreadable (503)
    └── GoogleError                             a Google API call failed; its reason picks the edge

The core of the tree is errors/base.py; the outside services' errors (AI, Google) are
errors/outside.py. Import every error from ``workscript_jupyter.errors``.

Errors whose meaning matches a builtin also derive from it, so callers can catch either.
Each error has a stable ``code`` used in run results, CLI output and API responses, a ``message``,
and ``details`` (None, or JSON-shaped data the API sends as ``error.details``: the issues of a
``WorkflowValidationError``, the fields of a ``BadRequestError``...).
"""

from .base import *  # noqa: F403
from .base import __all__ as _base_all
from .outside import *  # noqa: F403
from .outside import __all__ as _outside_all

__all__ = [*_base_all, *_outside_all]
