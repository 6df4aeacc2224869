"""A local stand-in for StackStorm's auth and API services, for the real ``st2`` CLI.

Serves the routes that ``st2 login``, ``st2 action list/get``, ``st2 run``, ``st2 execution
get/list``, ``st2 trigger list``, ``st2 rule list`` and ``st2 key list/get/set/delete`` use, with
StackStorm's payload shapes, status codes and ``{"faultstring": ...}`` error bodies. Users come from
an htpasswd file checked by ``st2-auth-backend-flat-file``; executions go to the local runner.

Modules (one job each): ``errors`` (API errors), ``htpasswd`` (user file entries),
``auth`` (password check and tokens), ``shapes`` (StackStorm API documents), ``executions``
(execution records run in threads), ``backend`` (what the service serves; parameters are checked by
the runner's ``executor.validate_parameters``), ``routes`` (URL -> handler), ``server`` (HTTP
listeners), ``service`` (assembly), ``cli`` (``workspaces-local api``), ``runtime`` (the bridge to
the local runner: pack, config, action executor, datastore), ``prefixes`` (st2web's ``/auth``,
``/api``, ``/stream`` prefixes, mapped as StackStorm's nginx site maps them) and ``webui`` (an
st2web build served read-only, with a generated ``config.js``).
"""
