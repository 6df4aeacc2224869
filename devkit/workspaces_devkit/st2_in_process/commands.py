"""``workspaces-local api`` and ``run`` on StackStorm's own services, and the choice of engine:
``engine_for`` says where a command runs, ``serve`` starts the engine from the command's options,
prints the lines the ``st2`` CLI needs and serves until Ctrl-C, SIGTERM or ``--duration``.
"""

import errno
import os
import signal
import subprocess
import sys

from workspaces_devkit.command_errors import PortInUse
from workspaces_devkit.st2_in_process import missing, stackstorm_python

__all__ = ["engine_for", "run_in_stackstorm", "serve", "ENGINE_ENV"]

ENGINE_ENV = "WORKSPACES_LOCAL_ENGINE"
HERE = "here"


def engine_for(pack_dir, wanted="auto"):
    """``(engine, why)``: ``"here"`` (this process runs StackStorm), the python of the pack's
    StackStorm virtualenv (the command runs again there), or None (the emulated runner; ``why``
    says why in one line)."""
    if os.environ.get(ENGINE_ENV) == "stackstorm-here":
        return HERE, None
    if wanted == "emulated" or os.environ.get(ENGINE_ENV) == "emulated":
        return None, "the emulated runner was asked for (--engine emulated or %s=emulated)" \
            % ENGINE_ENV
    python = stackstorm_python(pack_dir)
    if python is not None:
        return python, None
    return None, missing() or "StackStorm's modules are not in %s" % sys.prefix


def run_in_stackstorm(python, pack_dir, argv):
    """Run ``workspaces-local argv`` in ``python`` (StackStorm's virtualenv); its exit code."""
    devkit = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [devkit, os.path.join(pack_dir, "actions", "lib")]))
    child = subprocess.Popen([python, "-m", "workspaces_devkit.st2_in_process"] + list(argv),
                             env=env)
    previous = signal.signal(signal.SIGTERM, lambda *_: child.terminate())
    try:
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:  # the child got the Ctrl-C too and stops by itself
                continue
    finally:
        signal.signal(signal.SIGTERM, previous)


def serve(args, sensors, out=sys.stdout):
    """Serve StackStorm for ``api`` (``sensors`` False) or ``run``; return 0 once stopped."""
    import eventlet
    import st2common

    from workspaces_devkit.st2_in_process.engine import StackStormInProcess
    from workspaces_devkit.st2_in_process.reload import Reloader

    pack_dir = os.path.abspath(args.pack_dir)
    engine = StackStormInProcess(
        pack_dir, args.state_dir or os.path.join(pack_dir, ".local"),
        htpasswd_path=args.htpasswd, host=args.host, port=args.port, rules_dir=args.rules_dir,
        config_path=args.config, webui_dir=getattr(args, "webui", None),
        token_ttl=args.token_ttl, poll_interval=getattr(args, "poll_interval", None),
        verbose=args.verbose, out=out)
    try:
        engine.start(sensors=sensors)
    except OSError as error:
        flag = "--api-port" if args.command == "run" else "--port"
        if error.errno == errno.EADDRINUSE:
            error = PortInUse(args.host, args.port, flag)
        raise SystemExit("workspaces-local: cannot serve the st2 API: %s" % error)
    if not getattr(args, "no_reload", False):
        engine.spawn(Reloader(engine).watch)
    url = engine.api_url()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        out.write("WARNING: the st2 API listens on %s without TLS: passwords and tokens cross "
                  "the network in clear text\n" % args.host)
    out.write("engine: StackStorm %s's own services in this process (API, auth, stream, rules "
              "engine, python runner%s)\n" % (
                  st2common.__version__, ", sensors" if sensors else ""))
    if args.htpasswd:
        out.write("st2 API for pack %s (users from %s); point the st2 CLI at it with\n"
                  "  export ST2_API_URL=%s ST2_AUTH_URL=%s/auth ST2_STREAM_URL=%s/stream/v1\n"
                  % (engine.pack_ref, args.htpasswd, url, url, url))
    if engine.origin.webui is not None:
        out.write("st2 web UI (st2web build in %s) at %s/\n" % (engine.origin.webui.root, url))
    if sensors:
        from workspaces_devkit.st2_in_process.activity import Activity

        activity = Activity(engine)
        engine.spawn(lambda: activity.follow(out))
    if getattr(args, "upgrade_check", None):
        _watch_upgrade(engine, args.upgrade_check, out)
    out.flush()
    stop = eventlet.event.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.send(0) if not stop.ready() else None)
    try:
        stop.wait(getattr(args, "duration", None))
    except KeyboardInterrupt:
        pass
    finally:
        engine.stop()
    return 0


def _watch_upgrade(engine, new_pack_dir, out):
    """``--upgrade-check``: every stored rule now, then each one the API creates or updates."""
    from st2common.models.api.rule import RuleAPI
    from st2common.persistence.rule import Rule
    from workspaces_devkit.upgrade.live import rule_reporter

    report = rule_reporter(new_pack_dir, out)
    for rule in Rule.get_all():
        report(RuleAPI.from_model(rule).__json__())
    engine.rule_listeners.append(report)
