"""StackStorm 3.9's own services in this (eventlet-patched) process.

``StackStormInProcess.start()`` writes one ``st2.conf`` under ``<state_dir>/st2``, puts the
database on mongomock and the message bus on kombu's ``memory://`` transport, runs StackStorm's
``common_setup``, registers the pack and StackStorm's ``core`` pack with StackStorm's registrars,
starts the scheduler, the action runner, the notifier and the rules engine, serves st2api, st2auth
and st2stream on one origin (``web.Origin``) and runs each of the pack's sensors in a
``SensorWrapper`` in a green thread of its own. Python actions run with the pack virtualenv
``<base_path>/virtualenvs/workspaces``: a link to this process's virtualenv. The process must be
patched by ``eventlet.monkey_patch()`` before anything else is imported (``__main__`` does that).
"""

import atexit
import getpass
import importlib
import json
import logging
import os
import secrets
import shutil
import sys

import eventlet

from workspaces_devkit.st2_in_process import htpasswd

__all__ = ["StackStormInProcess", "PACK_REF"]

PACK_REF = "workspaces"
CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
#: Where StackStorm's ``core`` pack is looked for (ST2_CORE_PACK names another).
CORE_PACK_PLACES = [os.environ.get("ST2_CORE_PACK")] + [
    os.path.join(CHECKOUT, place) for place in ("../shared/stackstorm-3.9.0/packs/core",
                                                "../stackstorm-3.9.0/packs/core")]

_SERVICES = ("st2api", "st2auth", "st2stream", "st2actions", "st2actions.scheduler",
             "st2actions.notifier", "st2reactor.rules", "st2reactor.sensor")
_CONTENT_KINDS = ("triggers", "sensors", "runners", "actions", "rules", "aliases", "policies",
                  "configs")  # the order of register_content(): what --register-all registers
_ST2_CONF = """\
[api]
host = {host}
port = {port}
[auth]
enable = True
mode = standalone
backend = flat_file
backend_kwargs = {{"file_path": "{htpasswd}"}}
api_url = {api_url}
token_ttl = {token_ttl}
service_token_ttl = {token_ttl}
[content]
packs_base_paths = {packs}
system_packs_base_path = {system_packs}
[system]
base_path = {base}
[keyvalue]
encryption_key_path = {key}
[messaging]
url = memory://
[coordination]
url =
[database]
db_name = st2
[system_user]
user = {user}
[log]
redirect_stderr = False
[scheduler]
sleep_interval = 0.05
gc_interval = 5
[timersengine]
enable = False
[register]
no_fail_on_failure = True
""" + "".join("[%s]\nlogging = {logging}\n" % section for section in (
    "api", "auth", "stream", "actionrunner", "scheduler", "notifier", "rulesengine",
    "sensorcontainer", "garbagecollector"))

_LOGGING_CONF = """\
[loggers]
keys=root
[handlers]
keys=console
[formatters]
keys=brief
[logger_root]
level={level}
handlers=console
[handler_console]
class=workspaces_devkit.st2_in_process.engine.ConsoleHandler
level={level}
formatter=brief
args=(sys.__stderr__,)
[formatter_brief]
format=%(asctime)s %(levelname)s %(name)s: %(message)s
"""


def _link(target, link):
    if os.path.lexists(link):
        os.remove(link) if os.path.islink(link) else shutil.rmtree(link)
    os.symlink(target, link)


class StackStormInProcess(object):
    """StackStorm's services for the pack in ``pack_dir``.

    ``htpasswd_path``: the users who may log in (None: a generated one-user file in the state
    folder). ``rules_dir``: the rules folder StackStorm registers and the API writes (default
    ``<pack_dir>/rules``). ``config_path`` or ``config`` (a mapping): the pack config.
    """

    def __init__(self, pack_dir, state_dir, htpasswd_path=None, host="127.0.0.1", port=9101,
                 rules_dir=None, config_path=None, config=None, webui_dir=None, token_ttl=86400,
                 poll_interval=None, verbose=False, out=sys.stdout):
        self.pack_dir = os.path.abspath(pack_dir)
        self.state_dir = os.path.abspath(state_dir)
        self.base = os.path.join(self.state_dir, "st2")
        self.rules_dir = os.path.abspath(rules_dir or os.path.join(self.pack_dir, "rules"))
        self.host, self.port, self.token_ttl = host, port, token_ttl
        self.htpasswd = htpasswd_path
        self.config_path, self.config = config_path, config
        self.webui_dir, self.poll_interval, self.verbose = webui_dir, poll_interval, verbose
        self.out = out
        self.conf_path = os.path.join(self.base, "st2.conf")
        self.sensors = {}  # class name -> (SensorWrapper, green thread)
        self._threads = []
        self._workers = []
        self._store = None
        self.origin = None
        self.pack_ref = PACK_REF
        self.rule_listeners = []  # called with each rule the API creates or updates

    # --- files -----------------------------------------------------------------------------

    def _prepare_files(self):
        """Write st2.conf, the logging file, the packs folder, the pack config, the key."""
        for folder in ("packs", "system_packs", "configs", "virtualenvs"):
            os.makedirs(os.path.join(self.base, folder), exist_ok=True)
        overlay = os.path.join(self.base, "packs", PACK_REF)
        os.makedirs(overlay, exist_ok=True)
        for name in os.listdir(self.pack_dir):  # the pack as StackStorm sees it: its rules/
            if name != "rules" and not name.startswith("."):  # folder is the rules folder
                _link(os.path.join(self.pack_dir, name), os.path.join(overlay, name))
        self._seed_rules_dir()
        _link(self.rules_dir, os.path.join(overlay, "rules"))
        core = next((place for place in CORE_PACK_PLACES
                     if place and os.path.isfile(os.path.join(place, "pack.yaml"))), None)
        if core is None:
            self.out.write("StackStorm's core pack not found (ST2_CORE_PACK names its folder); "
                           "core.* actions are not registered\n")
        else:
            _link(os.path.abspath(core), os.path.join(self.base, "system_packs", "core"))
        _link(sys.prefix, os.path.join(self.base, "virtualenvs", PACK_REF))
        self._write_pack_config()
        key = os.path.join(self.state_dir, "st2-datastore.key")
        if not os.path.exists(key):
            from st2common.util.crypto import AESKey

            with open(os.open(key, os.O_WRONLY | os.O_CREAT, 0o600), "w") as handle:
                handle.write(AESKey.generate().to_json())
        if self.htpasswd is None:  # `run` without --api-htpasswd: a user nobody is told
            self.htpasswd = os.path.join(self.base, "htpasswd")
            htpasswd.add_user(self.htpasswd, "workspaces-local", secrets.token_urlsafe(24))
        logging_path = os.path.join(self.base, "logging.conf")
        with open(logging_path, "w") as handle:
            handle.write(_LOGGING_CONF.format(level="INFO" if self.verbose else "WARNING"))
        with open(self.conf_path, "w") as handle:
            handle.write(_ST2_CONF.format(
                host=self.host, port=self.port, logging=logging_path,
                htpasswd=os.path.abspath(self.htpasswd), api_url=self.api_url(),
                token_ttl=self.token_ttl, packs=os.path.join(self.base, "packs"),
                system_packs=os.path.join(self.base, "system_packs"), base=self.base, key=key,
                user=getpass.getuser()))

    def _seed_rules_dir(self):
        """A new rules folder starts with the pack's rules (as the pack's own folder has)."""
        shipped = os.path.join(self.pack_dir, "rules")
        if self.rules_dir == shipped:
            return
        os.makedirs(self.rules_dir, exist_ok=True)
        if not any(n.endswith((".yaml", ".yml")) for n in os.listdir(self.rules_dir)):
            for name in os.listdir(shipped):
                if name.endswith((".yaml", ".yml")):
                    shutil.copy(os.path.join(shipped, name), self.rules_dir)

    def _write_pack_config(self):
        target = os.path.join(self.base, "configs", PACK_REF + ".yaml")
        if self.config is not None:
            with open(target, "w") as handle:
                json.dump(self.config, handle)  # JSON is YAML
        elif self.config_path:
            _link(os.path.abspath(self.config_path), target)
        elif os.path.lexists(target):
            os.remove(target)

    def api_url(self):
        """The URL of st2api (and, under ``/auth`` and ``/stream``, of st2auth and st2stream)."""
        return "http://%s:%d" % (self.host if ":" not in self.host else "[%s]" % self.host,
                                 self.port)

    # --- start and stop ----------------------------------------------------------------------

    def start(self, sensors=True):
        """Start everything (the sensors too with ``sensors``); return once the API answers."""
        sock = eventlet.listen((self.host, self.port), reuse_port=False)  # 0 picks a port
        self.port = sock.getsockname()[1]
        self._prepare_files()
        sys.argv[1:] = ["--config-file", self.conf_path]  # the python runner passes them on
        self._setup()
        from workspaces_devkit.st2_in_process.datastore_file import DatastoreFile

        self._store = DatastoreFile(os.path.join(self.state_dir, "st2-datastore.json"))
        self._store.load()
        self.register()
        self._start_workers()
        from workspaces_devkit.st2_in_process.web import Origin

        self.origin = Origin(self, webui_dir=self.webui_dir)
        from eventlet import wsgi

        self.spawn(lambda: wsgi.server(  # requests and errors at INFO: shown with -v
            sock, self.origin, log_output=self.verbose, socket_timeout=None,
            log=logging.getLogger("workspaces-local.http")))
        if sensors:
            self.start_sensors()
        self.spawn(self._store.keep_saved)

    def spawn(self, function):
        """Run ``function`` in a green thread that ``stop`` ends."""
        self._threads.append(eventlet.spawn(function))

    def _setup(self):
        import kombu.transport.memory
        import mongoengine.connection
        import mongomock

        kombu.transport.memory.Transport.polling_interval = 0.05
        connect = mongoengine.connection.connect
        if not getattr(connect, "mongomock", False):
            clients = []  # one mongomock store, made as the first connect asks (tz_aware ...)

            def mongomock_client(*args, **kwargs):
                if not clients:
                    clients.append(mongomock.MongoClient(*args, **kwargs))
                return clients[0]

            def mongomock_connect(*args, **kwargs):
                mongoengine.connection.disconnect(kwargs.get("alias", "default"))
                kwargs["mongo_client_class"] = mongomock_client
                return connect(*args, **kwargs)
            mongomock_connect.mongomock = True
            mongoengine.connection.connect = mongomock_connect

        import st2common.content.bootstrap  # noqa: F401 (its CLI options, before parsing)
        from st2common.service_setup import setup as common_setup

        for service in _SERVICES:  # every service's options, before the config is parsed
            importlib.import_module(service + ".config").register_opts(ignore_errors=True)
        common_setup(service="workspaces-local", config=importlib.import_module("st2api.config"),
                     setup_db=True, register_mq_exchanges=True, register_signal_handlers=False,
                     register_internal_trigger_types=True, service_registry=False,
                     config_args=["--config-file", self.conf_path])
        sys.stderr = sys.__stderr__  # StackStorm's logging set-up sends it to a logger

    def register(self, what="all"):
        """Register content with StackStorm's registrars (``what``: all, as ``register_content``
        with ``--register-all``, or one of triggers, sensors, actions, rules, policies, configs);
        rules whose file is gone are deleted."""
        from st2common.content import bootstrap

        for kind in _CONTENT_KINDS if what == "all" else (what,):
            getattr(bootstrap, "register_" + kind)()
        if what in ("all", "rules"):
            self._delete_rules_without_file()

    def _delete_rules_without_file(self):
        from st2common.persistence.rule import Rule
        from workspaces_devkit.st2_in_process.rule_files import rules_on_disk

        on_disk = rules_on_disk(self.rules_dir)
        for rule in Rule.query(pack=PACK_REF):
            if rule.name not in on_disk:
                Rule.delete(rule)

    def _start_workers(self):
        from st2actions import worker
        from st2actions.notifier import notifier
        from st2actions.scheduler import entrypoint, handler
        from st2reactor.rules import worker as rules_worker

        scheduler = handler.get_handler()
        scheduler.start()
        self._workers.append(scheduler)
        for component in (entrypoint.get_scheduler_entrypoint(), worker.get_worker(),
                          notifier.get_notifier(), rules_worker.get_worker()):
            component.start(wait=False)
            self._workers.append(component)

    # --- sensors -------------------------------------------------------------------------------

    def start_sensors(self, only=None):
        """Run the pack's enabled sensors (``only``: these class names), each in its own green
        thread; a sensor that fails logs its error and the others go on."""
        from st2common.persistence.sensor import SensorType

        for sensor in SensorType.query(pack=PACK_REF, enabled=True):
            if only is None or sensor.name in only:
                self._start_sensor(sensor)

    def _start_sensor(self, sensor):
        from st2reactor.container.sensor_wrapper import SensorWrapper

        wrapper = SensorWrapper(pack=PACK_REF, file_path=sensor.artifact_uri.replace(
            "file://", "", 1), class_name=sensor.name, trigger_types=list(sensor.trigger_types),
            poll_interval=self.poll_interval or sensor.poll_interval,
            parent_args=["--config-file", self.conf_path])
        sys.stderr = sys.__stderr__
        self.sensors[sensor.name] = (wrapper, eventlet.spawn(self._run_sensor, wrapper))

    def _run_sensor(self, wrapper):
        try:
            wrapper.run()
        except Exception as error:  # one failing sensor does not stop the others
            self.out.write("sensor %s stopped: %s\n" % (wrapper._class_name, error))

    def stop_sensors(self, only=None):
        """Stop the running sensors (``only``: these class names)."""
        for name in list(self.sensors):
            if only is None or name in only:
                wrapper, thread = self.sensors.pop(name)
                atexit.unregister(wrapper.stop)  # SensorWrapper.run registered it
                try:
                    wrapper.stop()
                except Exception as error:
                    self.out.write("sensor %s: cleanup failed: %s\n" % (name, error))
                thread.kill()

    def stop(self):
        """Stop the sensors, the workers and the servers; save the datastore."""
        self.stop_sensors()
        for worker in self._workers:
            try:
                worker.shutdown()
            except Exception:  # a worker already stopped
                pass
        for thread in self._threads:
            thread.kill()
        if self._store is not None:
            self._store.save()


class ConsoleHandler(logging.StreamHandler):
    """StackStorm's log on stderr, without its AUDIT records (a level above CRITICAL) unless
    the level is INFO or lower (``-v``)."""

    def emit(self, record):
        if self.level > logging.INFO and (record.levelname == "AUDIT" or any(
                record.name.startswith(name) and text in record.getMessage()
                for name, text in _EXPECTED_NOISE)):
            return
        if record.name.startswith(_ONE_LINE) and self.level > logging.INFO:
            record.exc_info = record.exc_text = None  # the message says it in one line
        super(ConsoleHandler, self).emit(record)


_ONE_LINE = ("st2.st2common.bootstrap", "st2.st2common.router", "st2.st2api", "st2.st2auth",
             "st2.st2stream")  # the client has the answer; the traceback is StackStorm's own
_EXPECTED_NOISE = (
    ("kombu.connection", "No hostname was supplied"),  # memory:// has none
    ("st2.st2common.bootstrap", "/system_packs/core/actions/"),  # their runners are not here
    ("st2.st2common.router", "does not exist in the StackStorm datastore"),  # a sensor's 1st run
)
