"""``workspaces-local api`` and ``workspaces-local api-user``: the st2 API from the command line.

``add_subcommands(subparsers, make_runtime, add_runtime_arguments)`` adds both subcommands to the
runner's CLI parser; ``make_runtime(args)`` is the runner's hook returning a
``runtime.LocalRuntime`` from its own options (pack directory, config file, state directory),
which ``add_runtime_arguments(parser)`` adds. ``add_api_arguments(parser, prefix="api-",
required=False)`` and ``start_api_from_args`` let another command (the runner's ``run``) serve
the API next to what it does.
"""

import getpass
import signal
import sys
import threading

from workspaces_devkit.st2api.auth import DEFAULT_TOKEN_TTL
from workspaces_devkit.st2api.htpasswd import add_user
from workspaces_devkit.st2api.service import DEFAULT_API_PORT, DEFAULT_AUTH_PORT, build_api

__all__ = ["add_api_arguments", "start_api_from_args", "add_subcommands", "serve_api",
           "add_user_command"]

_AUTO = "auto"


def _auth_port(value):
    if value.lower() in ("none", "same", "-"):
        return None
    if value.lower() == _AUTO:
        return _AUTO
    return int(value)


def add_api_arguments(parser, prefix="", required=True):
    """Add the API options (htpasswd, host, ports, token TTL) to ``parser``.

    ``prefix="api-"`` gives ``--api-htpasswd``, ``--api-port`` ... for a command that also does
    other things (the runner's ``run``); with ``required=False`` the API is optional and starts
    only when ``--<prefix>htpasswd`` is given.
    """
    parser.add_argument("--%shtpasswd" % prefix, required=required,
                        help="htpasswd file with the users allowed to log in to the st2 API "
                             "(bcrypt entries; create with `workspaces-local api-user` or "
                             "`htpasswd -B`)" + ("" if required else "; enables the st2 API"))
    parser.add_argument("--%shost" % prefix, default="127.0.0.1",
                        help="st2 API address (default 127.0.0.1: loopback only)")
    parser.add_argument("--%sport" % prefix, type=int, default=DEFAULT_API_PORT,
                        help="st2 API port; it serves the auth routes too (default %d, "
                             "StackStorm's; 0 picks a free port)" % DEFAULT_API_PORT)
    parser.add_argument("--%sauth-port" % prefix, type=_auth_port, default=_AUTO,
                        help="an extra listener for the auth routes; 'none' for none (default: "
                             "%d when the API port is %d, as StackStorm's st2auth, else none)"
                             % (DEFAULT_AUTH_PORT, DEFAULT_API_PORT))
    parser.add_argument("--%stoken-ttl" % prefix, type=int, default=DEFAULT_TOKEN_TTL,
                        help="st2 token lifetime and maximum TTL in seconds (default %d)"
                             % DEFAULT_TOKEN_TTL)
    needs = "" if required else "; needs --%shtpasswd" % prefix
    parser.add_argument("--webui", metavar="DIR",
                        help="an st2web build (StackStorm's web UI, built from its public "
                             "repository; see docs/WEBUI.md) to serve read-only on the API's "
                             "origin, with a generated config.js" + needs)
    return parser


def start_api_from_args(args, pack, run_action, kv_store, prefix="", out=sys.stdout,
                        rules_dir=None, runner=None, config=None):
    """Build and start the API from options added by ``add_api_arguments(parser, prefix)``.

    Returns the started ``ApiServer`` (call ``stop()`` when done), or None when the options
    were optional and no htpasswd file was given. Prints the settings the ``st2`` CLI needs.
    ``rules_dir``, ``runner`` and ``config`` go to ``service.build_api``.
    """
    dest = prefix.replace("-", "_")
    htpasswd = getattr(args, dest + "htpasswd")
    webui_dir = getattr(args, "webui", None)
    if not htpasswd:
        if webui_dir:
            raise SystemExit("workspaces-local: --webui %s needs the st2 API: give "
                             "--%shtpasswd too" % (webui_dir, prefix))
        return None
    port = getattr(args, dest + "port")
    auth_port = getattr(args, dest + "auth_port")
    if auth_port == _AUTO:
        auth_port = DEFAULT_AUTH_PORT if port == DEFAULT_API_PORT else None
    host = getattr(args, dest + "host")
    try:
        server = build_api(pack, run_action, kv_store, htpasswd, host=host, port=port,
                           auth_port=auth_port, token_ttl=getattr(args, dest + "token_ttl"),
                           rules_dir=rules_dir, runner=runner, webui_dir=webui_dir,
                           config=config)
    except (ValueError, RuntimeError, OSError) as error:  # no htpasswd, no backend, port taken
        raise SystemExit("workspaces-local: cannot serve the st2 API: %s" % error)
    server.start()
    if host not in ("127.0.0.1", "localhost", "::1"):
        out.write("WARNING: the st2 API listens on %s without TLS: passwords and tokens cross "
                  "the network in clear text\n" % host)
    out.write("st2 API for pack %s (users from %s); point the st2 CLI at it with\n"
              "  export ST2_API_URL=%s ST2_AUTH_URL=%s\n"
              % (pack.ref, htpasswd, server.api_url, server.auth_url))
    if server.webui_url:
        out.write("st2 web UI (st2web build in %s) at %s\n" % (server.webui.root, server.webui_url))
    out.flush()
    return server


def serve_api(args, runtime, stop_event=None, out=sys.stdout):
    """Start the API over ``runtime`` from parsed ``args``; serve until Ctrl-C or SIGTERM.

    ``runtime`` has ``pack``, ``run_action`` and ``kv_store`` (``runtime.LocalRuntime``).
    Returns 0 once stopped (``stop_event`` stops it too).
    """
    server = start_api_from_args(args, runtime.pack, runtime.run_action, runtime.kv_store,
                                 out=out, rules_dir=getattr(runtime, "rules_dir", None),
                                 config=getattr(getattr(runtime, "executor", None), "config",
                                                None))
    if getattr(args, "upgrade_check", None):
        from workspaces_devkit.upgrade.live import UpgradeWatch

        watch = UpgradeWatch(args.upgrade_check, out)
        watch.report_all(server.backend.list_rules())
        watch.follow(server.backend.events)
    stop_event = stop_event or threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop_event.set())
    try:
        while not stop_event.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def add_user_command(args, out=sys.stdout):
    """``api-user``: add or replace a user in the htpasswd file; return 0."""
    password = args.password
    if password is None:
        try:
            password = getpass.getpass("Password for %s: " % args.username)
            if getpass.getpass("Again: ") != password:
                raise SystemExit("workspaces-local: the passwords differ; nothing written")
        except (EOFError, KeyboardInterrupt):
            raise SystemExit("\nworkspaces-local: no password given; nothing written")
    if not password:
        raise SystemExit("workspaces-local: the password is empty; nothing written")
    try:
        add_user(args.htpasswd, args.username, password)
    except (ValueError, OSError, ImportError) as error:
        raise SystemExit("workspaces-local: %s" % error)
    out.write("User %s written to %s\n" % (args.username, args.htpasswd))
    return 0


def add_subcommands(subparsers, make_runtime, add_runtime_arguments=None):
    """Add ``api`` and ``api-user`` to an argparse ``subparsers`` object.

    ``make_runtime(args) -> runtime.LocalRuntime`` comes from the runner;
    ``add_runtime_arguments(parser)`` adds the runner's own options to ``api``. Each parser's
    ``func(args) -> exit code`` runs the subcommand.
    """
    api = subparsers.add_parser(
        "api", help="serve the StackStorm auth + API routes the st2 CLI uses",
        description="Serve enough of StackStorm's auth and API for the real st2 CLI "
                    "(st2 login/auth, st2 action list/get, st2 run, st2 execution get/list, "
                    "st2 trigger list, st2 rule list, st2 key list/get/set/delete).")
    add_api_arguments(api)
    api.add_argument("--upgrade-check", metavar="NEW_PACK_DIR",
                     help="print how each served rule (at start, then each one created or "
                          "changed) fares with the pack version in NEW_PACK_DIR "
                          "(docs/UPGRADING.md)")
    if add_runtime_arguments is not None:
        add_runtime_arguments(api)
    api.set_defaults(func=lambda args: serve_api(args, make_runtime(args)))

    user = subparsers.add_parser("api-user", help="add or replace a user in an htpasswd file")
    user.add_argument("--htpasswd", required=True, help="htpasswd file (created if missing)")
    user.add_argument("username")
    user.add_argument("--password", help="the password (prompted for when omitted)")
    user.set_defaults(func=add_user_command)
    return api, user
