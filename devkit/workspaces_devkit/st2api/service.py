"""Assemble the local st2 API: pack + runner + datastore + htpasswd -> a ready ``ApiServer``.

``build_api`` is what ``workspaces-local api`` calls, and what ``workspaces-local run
--api-htpasswd`` calls to serve the API next to the sensors and rules, sharing their datastore.
"""

import time

from workspaces_devkit.st2api.auth import DEFAULT_TOKEN_TTL, PasswordChecker, TokenStore
from workspaces_devkit.st2api.backend import LocalBackend
from workspaces_devkit.st2api.live import RunnerObserver
from workspaces_devkit.st2api.routes import Router
from workspaces_devkit.st2api.server import ApiServer
from workspaces_devkit.st2api.webui import WebUi

__all__ = ["build_api", "DEFAULT_API_PORT", "DEFAULT_AUTH_PORT"]

#: StackStorm's ports: a bare ``st2`` CLI talks to 127.0.0.1:9101 (API) and :9100 (auth).
DEFAULT_API_PORT = 9101
DEFAULT_AUTH_PORT = 9100


def build_api(pack, run_action, kv_store, htpasswd, host="127.0.0.1", port=DEFAULT_API_PORT,
              auth_port=DEFAULT_AUTH_PORT, token_ttl=DEFAULT_TOKEN_TTL, clock=time.time,
              rules_dir=None, runner=None, webui_dir=None, config=None):
    """Return an ``ApiServer`` (not started) serving ``pack`` (a ``content.Pack``).

    ``run_action(ref, parameters) -> (status, result)`` runs one action; ``kv_store`` has
    ``get/set/delete/list`` (the runner's datastore); ``htpasswd`` is the users file. The API
    listener serves the auth routes too; ``auth_port`` adds a listener for them (StackStorm's
    9100), None adds none. ``clock`` (seconds, like ``time.time``) drives token expiry.
    ``rules_dir`` is the rules overlay the API writes rules into (None: the pack's ``rules/``).
    ``runner`` (a ``LocalRunner`` sharing ``pack``) gets a ``live.RunnerObserver``, so that
    what its rules start shows in the API's history and on ``/stream``.
    ``webui_dir`` is an st2web build to serve on the same origin (ValueError if it is not one).
    ``config`` is the pack config in use (default: the runner's), shown with secrets masked.
    """
    webui = WebUi(webui_dir, name="workspaces-local (pack %s)" % pack.ref) if webui_dir else None
    if config is None and runner is not None:
        config = getattr(runner, "config", None)
    backend = LocalBackend(pack, run_action, kv_store, clock=clock, rules_dir=rules_dir,
                           config=config)
    if runner is not None:
        runner.observer = RunnerObserver(backend, log=getattr(runner, "log", None),
                                         rules_changed=getattr(runner, "rules_changed", None))
    router = Router(backend, TokenStore(ttl=token_ttl, clock=clock), PasswordChecker(htpasswd))
    server = ApiServer(router, host=host, port=port, auth_port=auth_port, webui=webui)
    server.backend = backend
    return server
