"""JupyterHub configuration: one shared Workscript service for the whole hub (docs/jupyterhub.md).

Copy it next to your hub's own configuration and load it from there
(``load_subconfig("jupyterhub_config_workscript.py")``) or use it as the whole file and add your
authenticator and spawner. It adds:

- the hub-managed service ``workscript``: a Jupyter server (``jupyterhub-singleuser``) with the
  Workscript extension in ``service`` role, shared by every hub user (``single_user=False``: one
  Workscript user per hub user), on the shared database. Hub users reach it through the proxy at
  ``/services/workscript/``, signed in by the hub (OAuth, no confirmation page);
- the roles: every user may access the service; the service may read users and their groups and
  start and reach their servers (notebook runs in their owner's server);
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
  ``workscript-admins``);
- ``WORKSCRIPT_HUB_URL``: where the service reaches users' servers, the proxy's URL (default
  ``http://127.0.0.1:8000``, the hub's default port);
- ``WORKSCRIPT_SERVICE_API_TOKEN``: set it to run the service yourself (``workscript service``,
  one or several replicas, e.g. behind a load balancer) instead of letting the hub start it: the
  hub then only registers the service's URL and this token;
- ``WORKSCRIPT_IDLE_CULL_SECONDS``: idle user servers are stopped after this long (default 3600;
  0 turns the culler off; needs ``jupyterhub-idle-culler``).

The spawner and the authenticator are left to you.
"""

import importlib.util
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
hub_url = os.environ.get("WORKSCRIPT_HUB_URL", "http://127.0.0.1:8000")
external_token = os.environ.get("WORKSCRIPT_SERVICE_API_TOKEN", "")
idle_cull_seconds = int(os.environ.get("WORKSCRIPT_IDLE_CULL_SECONDS", "3600"))
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
command += [f"--WorkscriptApp.admin_groups={group}" for group in admin_groups]
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
    "WORKSCRIPT_OWNER_SERVERS",
    "JUPYTER_CONFIG_DIR",
    "JUPYTER_DATA_DIR",
    "JUPYTER_RUNTIME_DIR",
    "IPYTHONDIR",
)
environment = {"WORKSCRIPT_DB_URL": db_url, "WORKSCRIPT_HUB_URL": hub_url}
environment.update({name: os.environ[name] for name in PASSED_ON if os.environ.get(name)})

service = {
    "name": SERVICE_NAME,
    "url": service_url,
    # hub users are sent straight back to the service after signing in, no "authorize" page
    "oauth_no_confirm": True,
}
if external_token:
    # run by you (`workscript service` with the same JUPYTERHUB_* settings on every replica):
    # the hub registers its URL and token, and its OAuth client for the users' browsers with
    # the default redirect URI, /services/workscript/oauth_callback on the hub's own host
    service["api_token"] = external_token
else:
    service.update(command=command, cwd=service_dir, environment=environment)
    if service_user:
        service["user"] = service_user
c.JupyterHub.services.append(service)

# users' servers: the extension runs there in its client role (found from this variable): no
# scheduler, no database; the magics and the Lab panel go through the server to the service
c.JupyterHub.allow_named_servers = True  # the service runs notebooks in `<user>/workscript`
c.Spawner.environment.update({"WORKSCRIPT_SERVICE_URL": service_url})
# the tokens a user server holds for its user (the kernel's JUPYTERHUB_API_TOKEN and the
# browser's OAuth token) may reach the service, and nothing more than the hub's default
c.Spawner.server_token_scopes = [
    "users:activity!user",
    "access:servers!server",
    f"access:services!service={SERVICE_NAME}",
]
c.Spawner.oauth_client_allowed_scopes = [f"access:services!service={SERVICE_NAME}"]

if idle_cull_seconds > 0 and importlib.util.find_spec("jupyterhub_idle_culler") is not None:
    # stops user servers idle for that long, the `workscript` ones the service started too
    c.JupyterHub.services.append(
        {
            "name": "idle-culler",
            "command": [
                sys.executable,
                "-m",
                "jupyterhub_idle_culler",
                f"--timeout={idle_cull_seconds}",
            ],
        }
    )
    c.JupyterHub.load_roles.append(
        {
            "name": "idle-culler",
            "services": ["idle-culler"],
            "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        }
    )

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
                "servers",  # start a user's named server for a notebook run
                "access:servers",  # run that notebook there
            ],
        },
    ]
)
