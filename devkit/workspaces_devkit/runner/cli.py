"""``workspaces-local``: run the pack on this machine, the short development loop.

Subcommands::

    run       sensors poll, rules match, actions run, on StackStorm's own services where
              installed, else on the emulated runner (--duration to bound it)
    sensor    run one sensor and print what it dispatches (no rules, no actions)
    dispatch  dispatch a trigger by hand and run the matching rules' actions
    action    run one action with k=v parameters, the local twin of `st2 run`
    validate  check every content file as StackStorm's registration would
    preflight check the config against the databases, Workspaces and folders (exit 1 on a problem)
    status    what every sensor and trigger is doing, from the local datastore (exit 1 on a problem)
    demo      the whole pack against the Workspaces emulator and sample data, then a summary
    api       serve StackStorm's own API for the `st2` CLI and st2web (docs/st2_cli.md)
    api-user  add a user to the st2 API's htpasswd file
    contract  snapshot / diff the pack's public contract (docs/UPGRADING.md)
    upgrade-check  the site's rules (st2 API, rule folders) against this pack (exit 1 if one breaks)
"""

import argparse
import json
import logging
import os
import sys

from workspaces_devkit.command_errors import CommandLineError, OneLineParser
from workspaces_devkit.kvstore import datastore_reader

__all__ = ["main", "parse_kv"]

PACK_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def parse_kv(pairs, spec=None):
    """Parse ``k=v`` words as `st2 run` does: values cast by the parameter's declared type."""
    from workspaces_devkit.runner.render import cast_value

    parameters = {}
    for pair in pairs:
        if "=" not in pair:
            raise SystemExit("parameter %r is not of the form name=value" % pair)
        name, value = pair.split("=", 1)
        kind = ((spec or {}).get(name) or {}).get("type")
        if kind == "array" and not value.strip().startswith("["):
            parameters[name] = [item.strip() for item in value.split(",") if item.strip()]
        else:
            try:
                parameters[name] = cast_value(value, (spec or {}).get(name))
            except (ValueError, SyntaxError) as error:
                raise SystemExit("parameter %s: cannot cast %r: %s" % (name, value, error))
    return parameters


def _command(sub, name, func, common=True, **kwargs):
    """Add the subcommand ``name`` that runs ``func`` (with the pack's options when ``common``);
    ``kwargs`` go to ``add_parser``."""
    command = sub.add_parser(name, **kwargs)
    command.set_defaults(func=func)
    if common:
        _add_common(command)
    return command


def _add_common(parser):
    parser.add_argument("--pack-dir", default=PACK_DIR, help="pack to run (default: this one)")
    parser.add_argument("--config", help="pack config YAML (default: config.schema.yaml defaults)")
    parser.add_argument("--state-dir", help="where the datastore lives (default PACK/.local)")
    parser.add_argument("--rules-dir",
                        help="read (and let the st2 API write) the rules in this directory "
                             "instead of PACK/rules, e.g. for a read-only checkout; its first "
                             "write copies the pack's rules into it")


def _state_dir(args):
    return args.state_dir or os.path.join(os.path.abspath(args.pack_dir), ".local")


def _import_pack_code(args):
    """Make the pack's shared code (actions/lib) importable, as StackStorm has it."""
    shared_lib = os.path.join(os.path.abspath(args.pack_dir), "actions", "lib")
    if shared_lib not in sys.path:
        sys.path.insert(0, shared_lib)


def _runner(args, **kwargs):
    from workspaces_devkit.runner.local import LocalRunner
    return LocalRunner(args.pack_dir, config_path=args.config, state_dir=args.state_dir,
                       rules_dir=getattr(args, "rules_dir", None), **kwargs)


def _on_stackstorm(args, serve_here, fallback):
    """Run a command on StackStorm's own services where installed (``--engine``): its exit code,
    or None after one line saying why ``fallback`` runs instead (exit when there is none)."""
    from workspaces_devkit.st2_in_process.commands import HERE, engine_for, run_in_stackstorm

    pack_dir = getattr(args, "pack_dir", PACK_DIR)
    engine, why = engine_for(pack_dir, getattr(args, "engine", "auto"))
    if engine == HERE:
        return serve_here()
    if engine is not None:
        return run_in_stackstorm(engine, pack_dir, args.argv)
    if fallback is None or getattr(args, "engine", "auto") == "stackstorm":
        raise SystemExit("workspaces-local: %s needs StackStorm's own services: %s" % (
            args.command, why))
    sys.stderr.write("workspaces-local: %s; %s runs on %s\n" % (why, args.command, fallback))
    sys.stderr.flush()
    return None


def cmd_run(args):
    """Run every sensor with rules and actions: StackStorm's own services where installed
    (with the st2 API's users from ``--api-htpasswd``), else the emulated runner."""
    from workspaces_devkit.st2_in_process.commands import serve

    if args.webui and not args.api_htpasswd:
        raise SystemExit("workspaces-local: --webui %s needs the st2 API: give --api-htpasswd "
                         "too" % args.webui)
    args.htpasswd, args.host, args.token_ttl = args.api_htpasswd, args.api_host, \
        args.api_token_ttl
    args.port = args.api_port if args.api_htpasswd else 0
    code = _on_stackstorm(args, lambda: serve(args, sensors=True), "the emulated runner" + (
        " without the st2 API" if args.api_htpasswd else ""))
    if code is not None:
        return code
    runner = _runner(args, poll_interval=args.poll_interval)
    runner.run_for(args.duration, watch=not args.no_reload)
    return 0


def cmd_api(args):
    """Serve StackStorm's own API, auth and stream (and its rules engine and runners)."""
    from workspaces_devkit.st2_in_process.commands import serve

    return _on_stackstorm(args, lambda: serve(args, sensors=False), None)


def cmd_sensor(args):
    """Run one sensor; print its dispatches."""
    runner = _runner(args, poll_interval=args.poll_interval, sensors=[args.name],
                     run_actions=False)
    if not runner.hosts:
        names = ", ".join(s.class_name for s in runner.pack.sensors)
        raise SystemExit("no sensor %r (sensors: %s)" % (args.name, names))
    runner.run_for(args.duration, watch=not args.no_reload)
    return 0


def _json_option(value, option):
    try:
        return json.loads(value)
    except ValueError as error:
        raise CommandLineError("%s is not JSON (%s): quote it for the shell, e.g. "
                               "%s '{\"name\": \"value\"}'" % (option, error, option))


def cmd_dispatch(args):
    """Dispatch one trigger instance by hand."""
    payload = _json_option(args.payload, "--payload")
    parameters = _json_option(args.parameters, "--parameters") if args.parameters else None
    runner = _runner(args, sensors=[])
    if args.trigger not in runner.trigger_types:
        raise SystemExit("unknown trigger type %r (known: %s)" % (
            args.trigger, ", ".join(sorted(runner.trigger_types))))
    runner._on_dispatch(args.trigger, payload, "manual", "by hand") if not parameters else \
        runner.handle_trigger(args.trigger, payload, parameters)
    runner.wait_for_actions()
    return 0 if all(e.status == "succeeded" for e in runner.executions) else 1


def cmd_action(args):
    """Run one action, print the execution like `st2 run` does."""
    from workspaces_devkit.runner.local import LocalRunner

    runner = LocalRunner(args.pack_dir, config_path=args.config, state_dir=args.state_dir,
                         sensors=[], out=sys.stderr)
    action = runner.pack.action(args.ref)
    if action is None:
        sys.stderr.write('Action "%s" cannot be found.\n' % args.ref)
        return 2
    execution = runner.executor.execute(args.ref, parse_kv(args.parameters, action.parameters))
    print("id: %s\naction.ref: %s\nstatus: %s\nresult:" % (execution.id, args.ref,
                                                           execution.status))
    print(json.dumps(execution.result, indent=2, sort_keys=True, default=str))
    return 0 if execution.status == "succeeded" else 1


def cmd_validate(args):
    """Validate the pack's content (and the rules of ``--rules-dir``, and a pack config, as
    StackStorm registers and loads it, with its Workspaces URLs)."""
    from workspaces_devkit.content import (ContentError, config_errors, load_pack, overlay_rules,
                                           validate_pack)
    from workspaces_devkit.pack_config import resolve_config
    from workspaces_devkit.st2meta import YamlFileError, load_yaml

    _import_pack_code(args)
    from workspaces_pack.core.urls import url_problems

    warnings = []
    errors = validate_pack(args.pack_dir, warnings)
    try:
        pack = load_pack(args.pack_dir)
    except YamlFileError:
        pack = None  # validate_pack said where
    if args.rules_dir and pack:
        errors += overlay_rules(pack, args.rules_dir, warnings)
    if args.config and pack:
        kv_get = datastore_reader(_state_dir(args))
        try:
            config = load_yaml(args.config) or {}
        except YamlFileError as error:
            errors.append(ContentError.of_yaml(error))
        else:
            problems = config_errors(pack, config, args.config, kv_get=kv_get)
            if not problems:
                resolved = resolve_config(pack.config_schema, config, kv_get, pack.ref)
                problems = url_problems(resolved, unset_ok=True)
            errors += [ContentError(args.config, key, message) for key, message in problems]
    for warning in warnings:
        print("warning: %s" % (warning,))
    for error in errors:
        print(error)
    print("%d problem(s)%s" % (len(errors), ", %d warning(s)" % len(warnings) if warnings else ""))
    return 1 if errors else 0


def rule_directories(pack):
    """Return ``(label, directory)`` of every enabled rule on ``workspaces.file_detected``."""
    found = []
    for rule in pack.rules:
        trigger = rule.raw.get("trigger") or {}
        directory = (trigger.get("parameters") or {}).get("directory")
        if rule.enabled and trigger.get("type") == "workspaces.file_detected" and directory:
            found.append(("rule %s" % rule.ref, directory))
    return found


def _print_report(report, as_json):
    """Print a preflight or status ``report`` (as JSON when ``as_json``); return the exit code."""
    if as_json:
        print(json.dumps(report.to_dict(), indent=2, sort_keys=True))
    else:
        print("\n".join(report.lines()))
    return 0 if report.ok else 1


def cmd_preflight(args):
    """Run the pack's preflight with the local config; exit 1 when anything is wrong."""
    from workspaces_devkit.content import load_pack
    from workspaces_devkit.runner.local import load_config

    pack = load_pack(args.pack_dir)
    _import_pack_code(args)
    from workspaces_pack.core.config import PackConfig
    from workspaces_pack.flows.preflight import run_preflight

    config = load_config(pack, args.config, kv_get=datastore_reader(_state_dir(args)),
                         allow_unknown_keys=True)
    return _print_report(run_preflight(PackConfig(config), directories=rule_directories(pack)),
                         args.json)


def local_rule_index(pack, store):
    """The ``RuleIndex`` of the local rules: each rule under the trigger ref its sensor got."""
    from workspaces_devkit.runner.sensors import rule_trigger_ref
    from workspaces_pack.flows.status import RuleIndex

    docs = []
    for rule in pack.rules:
        trigger = rule.raw.get("trigger") or {}
        docs.append({"ref": rule.ref, "enabled": rule.enabled,
                     "trigger": {"type": trigger.get("type"),
                                 "ref": rule_trigger_ref(pack, rule, store),
                                 "parameters": trigger.get("parameters") or {}}})
    return RuleIndex(docs)


def local_status(pack, store, config, sensor_filter=None, problems_only=False):
    """The ``StatusReport`` that ``workspaces-local status`` prints of the local datastore
    ``store`` (``pack``'s shared code importable; ``config`` resolved)."""
    from workspaces_devkit.kvstore import LocalDatastoreService
    from workspaces_pack.core.config import PackConfig
    from workspaces_pack.core.health_record import heartbeat_seconds
    from workspaces_pack.core.scrub import Scrubber
    from workspaces_pack.flows.status import StatusQuery, build_status, read_health_records

    service = LocalDatastoreService(logging.getLogger("workspaces-local.status"), pack.ref,
                                    "status", store)
    config = PackConfig(config)
    return build_status(read_health_records(service.list_values), local_rule_index(pack, store),
                        Scrubber(config), heartbeat_seconds(config),
                        StatusQuery(sensor_filter, problems_only), config=config)


def cmd_status(args):
    """Print the status table from the local datastore's health records; exit 1 on a problem."""
    from workspaces_devkit.content import load_pack, overlay_rules
    from workspaces_devkit.kvstore import JsonFileKeyValueStore
    from workspaces_devkit.runner.local import load_config

    pack = load_pack(args.pack_dir)
    if args.rules_dir:
        for error in overlay_rules(pack, args.rules_dir):
            sys.stderr.write("workspaces-local: rule left out: %s\n" % (error,))
    _import_pack_code(args)
    state_dir = _state_dir(args)
    if not os.path.isdir(state_dir):
        raise CommandLineError("no state folder %s: give the --state-dir of a `workspaces-local "
                               "run` (default <pack>/.local), or run the pack first" % state_dir)
    store = JsonFileKeyValueStore(os.path.join(state_dir, "datastore.json"))
    config = load_config(pack, args.config, kv_get=store.get, allow_unknown_keys=True)
    return _print_report(local_status(pack, store, config, sensor_filter=args.sensor,
                                      problems_only=args.problems_only), args.json)


def cmd_demo(args):
    """Run the demo on StackStorm's own services where installed, else on the emulated runner."""
    from workspaces_devkit.demo import run_demo

    code = _on_stackstorm(args, lambda: run_demo(duration=args.duration, keep=args.keep,
                                                 engine="stackstorm"), "the emulated runner")
    if code is not None:
        return code
    return run_demo(duration=args.duration, keep=args.keep, engine="emulated")


def _add_api_arguments(parser, prefix=""):
    """The st2 API's options: ``--htpasswd`` ... (``prefix="api-"``: ``--api-htpasswd`` ...)."""
    parser.add_argument("--%shtpasswd" % prefix, required=not prefix,
                        help="htpasswd file with the users allowed to log in to the st2 API "
                             "(bcrypt entries; create with `workspaces-local api-user` or "
                             "`htpasswd -B`)" + ("; serves the st2 API" if prefix else ""))
    parser.add_argument("--%shost" % prefix, default="127.0.0.1",
                        help="st2 API address (default 127.0.0.1: loopback only)")
    parser.add_argument("--%sport" % prefix, type=int, default=9101,
                        help="port of the st2 API, auth (under /auth) and stream (under "
                             "/stream) (default 9101, StackStorm's; 0 picks a free port)")
    parser.add_argument("--%stoken-ttl" % prefix, type=int, default=86400,
                        help="st2 token lifetime in seconds (default 86400)")
    parser.add_argument("--webui", metavar="DIR",
                        help="an st2web build (StackStorm's web UI; docs/WEBUI.md) to serve on "
                             "the API's origin, with a generated config.js")


def cmd_api_user(args):
    """``api-user``: add or replace a user in the htpasswd file; return 0."""
    import getpass

    from workspaces_devkit.st2_in_process.htpasswd import add_user

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
    print("User %s written to %s" % (args.username, args.htpasswd))
    return 0


def build_parser():
    """Return the argparse parser of ``workspaces-local``."""
    parser = OneLineParser(prog="workspaces-local", description=__doc__.split("\n")[0],
                           formatter_class=argparse.RawDescriptionHelpFormatter,
                           epilog=__doc__.split("\n", 2)[2],
                           hints={"command": "give one of them, e.g. `workspaces-local demo` "
                                             "(`workspaces-local --help` says what each does)"})
    parser.add_argument("-v", "--verbose", action="store_true", help="show the pack's logs")
    sub = parser.add_subparsers(dest="command", required=True)
    parser.commands = sub.choices  # {name: subcommand parser}, for errors that name it
    run = _command(sub, "run", cmd_run, help="run sensors, rules and actions in the foreground")
    sensor = _command(sub, "sensor", cmd_sensor, help="run one sensor and print its dispatches")
    sensor.add_argument("name", help="sensor class name (e.g. FileMonitorSensor) or file name")
    for command in (run, sensor):
        command.add_argument("--duration", type=float, help="stop after this many seconds")
        command.add_argument("--poll-interval", type=float,
                             help="override every sensor's poll interval (seconds)")
        command.add_argument("--no-reload", action="store_true",
                             help="do not reload sensors when their files change")
    dispatch = _command(sub, "dispatch", cmd_dispatch, help="dispatch a trigger by hand", hints={
        "--payload": "give the trigger instance's payload as JSON with the fields of the "
                     "trigger type's payload_schema, e.g. --payload "
                     "'{\"path\": \"/data/a.dat\", ...}'"})
    dispatch.add_argument("trigger", help="trigger type, e.g. workspaces.alma_asdm")
    dispatch.add_argument("--payload", required=True, help="payload as JSON")
    dispatch.add_argument("--parameters", help="trigger parameters as JSON (parameterised types)")
    action = _command(sub, "action", cmd_action, help="run one action (local twin of `st2 run`)")
    action.add_argument("ref", help="action ref, e.g. workspaces.capability_create_and_run")
    action.add_argument("parameters", nargs="*", help="name=value ...")
    validate = _command(sub, "validate", cmd_validate, common=False,
                        help="validate the pack's content files")
    validate.add_argument("--pack-dir", default=PACK_DIR)
    validate.add_argument("--rules-dir", help="also validate the rules in this overlay directory")
    validate.add_argument("--config", help="also check this pack config (YAML) as StackStorm "
                          "registers and loads it; st2kv values come from the local datastore")
    validate.add_argument("--state-dir", help="folder of the local datastore (default "
                          "<pack>/.local)")
    preflight = _command(sub, "preflight", cmd_preflight, help="check the config against "
                         "databases, Workspaces and folders")
    status = _command(sub, "status", cmd_status, help="what every sensor and trigger is doing, "
                      "from the local datastore")
    status.add_argument("--sensor", help="only this sensor (class name or trigger type)")
    status.add_argument("--problems-only", action="store_true",
                        help="only the sensors and triggers with a problem")
    for command in (preflight, status):
        command.add_argument("--json", action="store_true", help="print the report as JSON")
    demo = _command(sub, "demo", cmd_demo, common=False,
                    help="run the end-to-end demo and print a summary")
    demo.add_argument("--duration", type=float, default=120.0,
                      help="longest the pack runs (it stops earlier once all is done)")
    demo.add_argument("--keep", action="store_true", help="keep the demo's temporary files")
    from workspaces_devkit.contract.cli import add_contract_command
    add_contract_command(sub, PACK_DIR)
    from workspaces_devkit.upgrade.cli import add_upgrade_check_command
    add_upgrade_check_command(sub, PACK_DIR)
    _add_api_arguments(run, prefix="api-")
    api = _command(sub, "api", cmd_api, help="serve StackStorm's own API, auth and stream (with "
                   "its rules engine and runners) for the st2 CLI and st2web")
    _add_api_arguments(api)
    api.add_argument("--no-reload", action="store_true",
                     help="do not register content again when its files change")
    api.add_argument("--upgrade-check", metavar="NEW_PACK_DIR",
                     help="print how each stored rule (at start, then each one created or "
                          "changed) fares with the pack version in NEW_PACK_DIR "
                          "(docs/UPGRADING.md)")
    for command in (run, api, demo):
        command.add_argument("--engine", choices=("auto", "stackstorm", "emulated"),
                             default="auto", help="StackStorm's own services (installed by "
                             "devkit/bin/setup) or the emulated runner (default auto: StackStorm "
                             "where installed)")
    user = _command(sub, "api-user", cmd_api_user, common=False,
                    help="add or replace a user in an htpasswd file")
    user.add_argument("--htpasswd", required=True, help="htpasswd file (created if missing)")
    user.add_argument("username")
    user.add_argument("--password", help="the password (prompted for when omitted)")
    return parser


def main(argv=None):
    """Entry point; returns the exit status (2: the command line cannot be carried out)."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args, unknown = parser.parse_known_args(argv)
    args.argv = argv  # run again as it is in StackStorm's virtualenv (``_on_stackstorm``)
    command = parser.commands.get(args.command, parser)  # its errors name the subcommand
    if unknown:
        command.error("unrecognized arguments: %s" % " ".join(unknown))
    config = getattr(args, "config", None)
    if config and not os.path.isfile(config):
        command.fail("no pack config at %s: give the path of one (`cp workspaces.yaml.example "
                     "workspaces.yaml` starts one), or leave --config out to run with "
                     "config.schema.yaml's defaults" % config)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except CommandLineError as error:
        command.fail(str(error))
    except BrokenPipeError:  # the reader went away (`... | head`): what it read is what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as error:  # a clear one-line error rather than a traceback for users
        from workspaces_devkit.runner.local import ConfigInvalid
        from workspaces_devkit.st2meta import YamlFileError
        if isinstance(error, (ConfigInvalid, YamlFileError)):
            sys.stderr.write("workspaces-local: %s\n" % error)
            return 2
        raise
