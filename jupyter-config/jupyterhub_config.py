"""JupyterHub configuration: one shared Workscript service for the whole hub (docs/jupyterhub.md).

Copy it next to your hub's own configuration and load it from there
(``load_subconfig("jupyterhub_config_workscript.py")``) or use it as the whole file and add your
authenticator and spawner. It adds:

- the hub-managed service ``workscript``: a Jupyter server (``jupyterhub-singleuser``) with the
  Workscript extension in ``service`` role, shared by every hub user (``single_user=False``: one
  Workscript user per hub user), on the shared database. Hub users reach it through the proxy at
  ``/services/workscript/``, signed in by the hub (OAuth, no confirmation page);
- the roles: every user may access the service; the service may read users and their groups and
  start and reach their servers (for notebook runs in their owner's server, planned);
- the admins: the members of the hub groups in ``WORKSCRIPT_ADMIN_GROUPS`` are Workscript admins.

Values come from the hub's environment, so the same file serves every deployment (and the test
in tests/hub/ loads this very file):

- ``WORKSCRIPT_DB_URL`` (required): the SQLAlchemy URL of the shared database, e.g.
  ``mysql+pymysql://workscript:…@db/workscript?charset=utf8mb4``;
- ``WORKSCRIPT_SECRET_KEY``: encrypts secrets at rest (OAuth connections); unset, those are off;
- ``WORKSCRIPT_SERVICE_URL``: where the service listens (default ``http://127.0.0.1:10101``);
- ``WORKSCRIPT_SERVICE_DIR``: the service's working folder, where runs read and write files
  (default ``/srv/workscript``);
- ``WORKSCRIPT_SERVICE_USER``: the OS user the service runs as when the hub runs as root
  (recommended: a user of its own); unset, the service runs as the hub's user;
- ``WORKSCRIPT_ADMIN_GROUPS``: comma-separated hub groups of Workscript admins (default
  ``workscript-admins``).

The spawner and the authenticator are left to you.
"""

import os
import sys

c = get_config()  # noqa: F821 (JupyterHub's config loader defines it)

SERVICE_NAME = "workscript"

db_url = os.environ.get("WORKSCRIPT_DB_URL", "")
if not db_url:
    # a service without it would fall back to a SQLite file of its own: fail at the hub's start
    raise SystemExit(
        "jupyterhub_config.py: set WORKSCRIPT_DB_URL (the shared Workscript database's "
        "SQLAlchemy URL) in the hub's environment"
    )
service_url = os.environ.get("WORKSCRIPT_SERVICE_URL", "http://127.0.0.1:10101")
service_dir = os.environ.get("WORKSCRIPT_SERVICE_DIR", "/srv/workscript")
service_user = os.environ.get("WORKSCRIPT_SERVICE_USER", "")
admin_groups = [
    group.strip()
    for group in os.environ.get("WORKSCRIPT_ADMIN_GROUPS", "workscript-admins").split(",")
    if group.strip()
]

command = [
    # the hub's own Python: the Workscript extension is installed beside JupyterHub
    sys.executable,
    "-m",
    "jupyterhub.singleuser",
    "--WorkscriptApp.role=service",
    "--WorkscriptApp.single_user=False",
    f"--ServerApp.root_dir={service_dir}",
]
command += [f"--WorkscriptApp.admin_users=group:{group}" for group in admin_groups]
if not service_user and os.geteuid() == 0:
    # Jupyter refuses to start as root unless told; prefer WORKSCRIPT_SERVICE_USER
    command.append("--allow-root")

# a managed service gets only the environment given here, not the hub's: these pass on when set
# (the secret key, the Redis that carries run events between replicas, Jupyter's folders, and
# the outside services' settings: Google's OAuth client, OpenRouter, a kernel gateway)
PASSED_ON = (
    "WORKSCRIPT_SECRET_KEY",
    "REDIS_URL",
    "GOOGLE_CLIENT_ID",
    "GOOGLE_CLIENT_SECRET",
    "GOOGLE_REDIRECT_URI",
    "OPENROUTER_API_KEY",
    "AI_MONTHLY_BUDGET_USD",
    "WORKSCRIPT_GATEWAY_URL",
    "WORKSCRIPT_GATEWAY_AUTH_TOKEN",
    "JUPYTER_CONFIG_DIR",
    "JUPYTER_DATA_DIR",
    "JUPYTER_RUNTIME_DIR",
    "IPYTHONDIR",
)
environment = {"WORKSCRIPT_DB_URL": db_url}
environment.update({name: os.environ[name] for name in PASSED_ON if os.environ.get(name)})

service = {
    "name": SERVICE_NAME,
    "url": service_url,
    "command": command,
    "cwd": service_dir,
    "environment": environment,
    # hub users are sent straight back to the service after signing in, no "authorize" page
    "oauth_no_confirm": True,
}
if service_user:
    service["user"] = service_user
c.JupyterHub.services.append(service)

c.JupyterHub.load_roles.extend(
    [
        {
            # every hub user: their own things (the hub's default) and the Workscript service
            "name": "user",
            "scopes": ["self", f"access:services!service={SERVICE_NAME}"],
        },
        {
            "name": "workscript-service",
            "services": [SERVICE_NAME],
            "scopes": [
                "list:users",
                "read:users:name",
                "read:users:groups",  # hub groups → Workscript admins
                "servers",  # start a user's named server for a notebook run (planned)
                "access:servers",  # run that notebook through the server's kernels (planned)
            ],
        },
    ]
)
