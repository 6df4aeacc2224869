"""The local runner: the whole pack on one machine, with one readable line per step.

``LocalRunner`` loads the pack and its config as StackStorm registers them, keeps the datastore in
a JSON file of the state directory, hosts the sensors, drops (loudly) a dispatched payload its
trigger type refuses, matches rules and runs the matched actions in subprocesses under the pack's
concurrency policies. With ``watch=True`` a changed sensor file reloads that sensor and a changed
rule file reloads the rules, file by file (a bad file keeps its last good version).
"""

import concurrent.futures
import datetime
import os
import signal
import sys
import threading
import time

from workspaces_devkit.content import (ContentError, config_errors, load_pack, overlay_rules,
                                      rule_errors, rule_files, validate_pack)
from workspaces_devkit.kvstore import JsonFileKeyValueStore
from workspaces_devkit.pack_config import resolve_config
from workspaces_devkit.runner.executor import ActionExecutor
from workspaces_devkit.runner.policies import ConcurrencyPolicies, PolicyCanceled
from workspaces_devkit.runner.rules import RuleEngine
from workspaces_devkit.runner.sensors import SensorHost
from workspaces_devkit.st2meta import YamlFileError, load_yaml, payload_errors

__all__ = ["LocalRunner", "load_config", "ConfigInvalid"]

SUMMARY_FIELDS = ("eb_uid", "mous_uid", "project_code", "calibrateable", "qa0_status", "path",
                  "file_count", "total_bytes", "sensor", "kind", "state")


class ConfigInvalid(ValueError):
    """The pack config does not match config.schema.yaml."""


def load_config(pack, path=None, overrides=None, kv_get=None, allow_unknown_keys=False):
    """Return the pack config a sensor or action receives, as StackStorm registers and loads it
    (``content.config_errors`` raise ``ConfigInvalid``; ``allow_unknown_keys`` accepts keys the
    schema does not know, as StackStorm does, for the preflight to report)."""
    config = (load_yaml(path) or {}) if path else {}
    if not isinstance(config, dict):
        raise ConfigInvalid("pack config %s is not a mapping of config keys to values" % path)
    config.update(overrides or {})
    problems = config_errors(pack, config, path or "(built in)", kv_get=kv_get)
    if allow_unknown_keys and isinstance(config, dict):
        problems = [problem for problem in problems
                    if problem[0] in pack.config_schema or problem[0] not in config]
    if problems:
        raise ConfigInvalid("pack config %s is invalid: %s" % (
            path or "(built in)", "; ".join("%s: %s" % p for p in problems)))
    return resolve_config(pack.config_schema, config, kv_get, pack.ref)


def _short(payload):
    if not isinstance(payload, dict):
        return repr(payload)
    parts = ["%s=%s" % (key, payload[key]) for key in SUMMARY_FIELDS if key in payload]
    return " ".join(parts) or ", ".join(sorted(payload))[:80]


class LocalRunner(object):
    """Sensors, rules and actions of one pack, run locally."""

    def __init__(self, pack_dir, config_path=None, config_overrides=None, state_dir=None,
                 out=None, poll_interval=None, sensors=None, run_actions=True, max_workers=4,
                 rules_dir=None):
        self.pack_dir = os.path.abspath(pack_dir)
        self.out = out or sys.stdout
        #: What StackStorm would store but not carry out as written, in the rules in use
        #: (``content.ContentError``s; printed by ``start``).
        self.rule_warnings = []
        errors = validate_pack(self.pack_dir, self.rule_warnings)
        if errors:
            raise ConfigInvalid("pack content is invalid:\n" + "\n".join(
                "  %s" % (e,) for e in errors))
        self.pack = load_pack(self.pack_dir)
        self.rules_dir = os.path.abspath(rules_dir) if rules_dir else None
        self._rules_folder = self.rules_dir or os.path.join(self.pack_dir, "rules")
        if self.rules_dir:
            os.makedirs(self.rules_dir, exist_ok=True)
            self.rule_warnings = []
            errors = overlay_rules(self.pack, self.rules_dir, self.rule_warnings)
            if errors:
                raise ConfigInvalid("rules in %s are invalid:\n%s" % (self.rules_dir, "\n".join(
                    "  %s" % (e,) for e in errors)))
        self.policies = ConcurrencyPolicies(self.pack)
        shared_lib = os.path.join(self.pack_dir, "actions", "lib")
        if shared_lib in sys.path:
            sys.path.remove(shared_lib)
        sys.path.insert(0, shared_lib)  # this pack's shared code first, as StackStorm has it
        self.state_dir = os.path.abspath(state_dir or os.path.join(self.pack_dir, ".local"))
        os.makedirs(self.state_dir, exist_ok=True)
        self.datastore_path = os.path.join(self.state_dir, "datastore.json")
        self.store = JsonFileKeyValueStore(self.datastore_path)
        self.config = load_config(self.pack, config_path, config_overrides, kv_get=self.store.get)
        self.engine = RuleEngine(self.pack, kv_get=self.store.get, config=self.config)
        self.executor = ActionExecutor(self.pack, self.config, self.datastore_path)
        self.run_actions = run_actions
        self.poll_interval = poll_interval
        self.trigger_types = self.pack.trigger_types()
        self.hosts = [SensorHost(self.pack, spec, self.config, self.store, self._on_dispatch,
                                 self._event, poll_interval=poll_interval)
                      for spec in self.pack.sensors
                      if spec.enabled and (sensors is None or spec.class_name in sensors or
                                           os.path.basename(spec.entry_point) in sensors)]
        self.dispatches = []
        self.executions = []
        self.dropped = []
        self._lock = threading.RLock()
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=max_workers)
        self._futures = []
        self._folder_watch = None
        self._rule_problems = set()

    def _event(self, kind, text):
        """Print one line of output: the time, ``kind`` and ``text``."""
        now = datetime.datetime.now().strftime("%H:%M:%S")
        with self._lock:
            self.out.write("%s %-8s %s\n" % (now, kind, text))
            self.out.flush()

    # --- triggers ----------------------------------------------------------------------------
    def _trigger_of(self, ref):
        for host in self.hosts:
            for trigger in host.triggers:
                if trigger["ref"] == ref:
                    return trigger
        if ref in self.trigger_types:
            return {"ref": ref, "type": ref, "parameters": {}}
        return None

    def _on_dispatch(self, trigger_ref, payload, trace_tag, sensor_name):
        trigger = self._trigger_of(trigger_ref)
        if trigger is None:
            self.dropped.append((trigger_ref, payload, "unknown trigger"))
            self._event("DROPPED", "%s dispatched to %r, which is not a trigger of this pack; "
                        "StackStorm would drop it" % (sensor_name, trigger_ref))
            return
        type_ref = trigger["type"]
        problems = payload_errors(type_ref, self.trigger_types[type_ref], payload)
        if problems:
            self.dropped.append((trigger_ref, payload, problems))
            self._event("DROPPED", "%s: invalid payload, StackStorm would drop it: %s"
                        % (type_ref, "; ".join(problems)))
            return
        self.handle_trigger(type_ref, payload, trigger.get("parameters"), trigger_ref, trace_tag)

    def handle_trigger(self, type_ref, payload, parameters=None, trigger_ref=None,
                       trace_tag=None):
        """Match one trigger instance against the rules and start the matched actions."""
        with self._lock:
            self.dispatches.append({"type": type_ref, "ref": trigger_ref or type_ref,
                                    "payload": payload, "trace_tag": trace_tag})
        self._event("trigger", "%s %s" % (type_ref, _short(payload)))
        futures = []
        for match in self.engine.match(type_ref, payload, parameters):
            if not match.matched:
                self._event("rule", "%s not matched: %s" % (match.rule_ref, match.reason))
                continue
            if match.error:
                self._event("rule", "%s matched but its enforcement failed: %s"
                            % (match.rule_ref, match.error))
                continue
            self._event("rule", "%s matched -> %s" % (match.rule_ref, match.action_ref))
            if self.run_actions:
                futures.append(self._pool.submit(self.run_action, match.action_ref,
                                                 match.parameters, match.rule_ref))
        with self._lock:
            self._futures.extend(futures)
        return futures

    # --- actions -----------------------------------------------------------------------------
    def run_action(self, action_ref, parameters, rule_ref=None):
        """Execute one action (blocking) under its concurrency policy and print its outcome;
        return the Execution."""
        is_rule = any(rule.ref == rule_ref for rule in self.pack.rules)
        context = self.engine.action_context(rule_ref) if is_rule else None

        def policy_status(status):
            if status == "delayed":
                self._event("policy", "%s delayed: %d executions already scheduled or running "
                            "(concurrency threshold)" % (action_ref, self.policies.active(
                                action_ref)))

        try:
            with self.policies.admit(action_ref, policy_status):
                self._event("action", "%s started%s" % (
                    action_ref, " by %s" % rule_ref if rule_ref else ""))
                execution = self.executor.execute(action_ref, parameters,
                                                  action_context=context)
        except PolicyCanceled as error:
            execution = self.executor.canceled(action_ref, parameters, str(error))
        with self._lock:
            self.executions.append(execution)
        self._event("result", "%s #%d %s in %.1fs: %s" % (
            action_ref, execution.id, execution.status, execution.elapsed,
            _describe(execution.result)))
        return execution

    def status_report(self):
        """``workspaces-local status``'s report of this runner's datastore."""
        from workspaces_devkit.runner.cli import local_status

        return local_status(self.pack, self.store, self.config)

    def pending_actions(self):
        """Return how many started actions have not finished yet."""
        with self._lock:
            return len([future for future in self._futures if not future.done()])

    def wait_for_actions(self, timeout=None):
        """Wait until every started action has finished."""
        with self._lock:
            futures = list(self._futures)
        concurrent.futures.wait(futures, timeout=timeout)

    # --- running -----------------------------------------------------------------------------
    def start(self, watch=False):
        """Start every sensor (and the file watcher when ``watch``)."""
        self._event("runner", "pack %s from %s: %d sensors, %d rules, %d actions; datastore %s"
                    % (self.pack.ref, self.pack_dir, len(self.hosts), len(self.pack.rules),
                       len(self.pack.actions), self.datastore_path))
        self._warn_rules(self.rule_warnings)
        from workspaces_pack.core.urls import url_problems  # the pack's shared code, on sys.path
        for _, message in url_problems(self.config):
            self._event("warning", "%s; actions that call Workspaces fail until then" % message)
        for host in self.hosts:
            host.start()
        if watch:
            self._watch()

    def stop(self):
        """Stop sensors, the watcher and wait for running actions."""
        if self._folder_watch is not None:
            self._folder_watch.stop()
        for host in self.hosts:
            host.stop()
        self.wait_for_actions()
        self._pool.shutdown(wait=True)

    def run_for(self, seconds, watch=False):
        """Run in the foreground for ``seconds`` (None: until Ctrl-C), then stop cleanly.

        Ctrl-C sets an event: a ``KeyboardInterrupt`` raised in a weakref callback is lost.
        """
        interrupted = threading.Event()
        previous = _handle_sigint(interrupted)
        try:
            self.start(watch=watch)
            deadline = None if seconds is None else time.time() + seconds
            while deadline is None or time.time() < deadline:
                if interrupted.wait(0.2):
                    self._event("runner", "interrupted")
                    break
        finally:
            _restore_sigint(previous)
            self.stop()

    def _watch(self):
        from workspaces_devkit.runner.watch import FolderWatch

        self._folder_watch = FolderWatch(self._file_changed, self._event)
        self._folder_watch.watch(os.path.join(self.pack_dir, "sensors"))
        self._folder_watch.watch(os.path.join(self.pack_dir, "actions", "lib"), recursive=True)
        self._folder_watch.watch(self._rules_folder)
        self._folder_watch.start()

    def _file_changed(self, path):
        """Reload the rules, every sensor (shared code changed) or the sensor of ``path``."""
        if os.path.dirname(path) == self._rules_folder and path.endswith((".yaml", ".yml")):
            self._reload_rules(path)
            return
        if path.startswith(os.path.join(self.pack_dir, "actions", "lib") + os.sep) and \
                path.endswith(".py"):
            self._reload_shared_code(path)
            return
        for host in self.hosts:
            sensor = host.sensor
            if path in (os.path.abspath(sensor.entry_point), os.path.abspath(sensor.path)):
                if not host._reload.is_set():
                    self._event("reload", "%s changed; reloading %s" % (
                        os.path.relpath(path, self.pack_dir), host.name))
                host.reload()

    def _reload_rules(self, path):
        """Re-read the rules after ``path`` changed, file by file: a file that does not parse or
        holds an invalid rule is reported once and keeps its last good version (a new one is
        left out until it is valid); every other file's rule is live."""
        before = {rule.path: rule for rule in self.pack.rules}
        known = sorted((rule.ref, repr(rule.meta)) for rule in self.pack.rules)
        rules, problems, warnings = [], [], []
        for rule_path in rule_files(self.pack, self._rules_folder):
            try:
                rule = self.pack.load_rule(rule_path)
                errors = rule_errors(self.pack, [rule], warnings)
            except FileNotFoundError:
                continue  # removed since the listing: its own event follows
            except YamlFileError as error:
                rule, errors = None, [ContentError.of_yaml(error)]
            if errors:
                problems.extend(errors)
                rule = before.get(rule_path)
            if rule is not None:
                rules.append(rule)
        self.pack.rules = rules
        news = {str(problem) for problem in problems} - self._rule_problems
        self._rule_problems = {str(problem) for problem in problems}
        if news:
            self._event("reload", "%s changed; invalid rule files keep their last good version "
                        "(or stay out): %s" % (os.path.basename(path), "; ".join(
                            sorted(news))))
        if sorted((rule.ref, repr(rule.meta)) for rule in rules) != known:
            self._event("reload", "%s changed; %d rules" % (os.path.basename(path), len(rules)))
            changed = {os.path.relpath(rule.path, self.pack_dir) for rule in rules
                       if before.get(rule.path) != rule}
            self._warn_rules(w for w in warnings if w.path in changed)
            for host in self.hosts:  # a new rule may need a sensor trigger with its parameters
                host.triggers_changed()

    def _warn_rules(self, warnings):
        """Print one ``warning`` line per rule warning (file, field, what StackStorm does)."""
        for warning in warnings:
            self._event("warning", "%s: %s: %s" % tuple(warning))

    def _reload_shared_code(self, path):
        """Forget the pack's shared modules so every sensor re-imports them as it reloads."""
        lib = os.path.join(self.pack_dir, "actions", "lib")
        packages = [os.path.splitext(entry)[0] for entry in os.listdir(lib)
                    if entry.endswith(".py") or
                    os.path.isfile(os.path.join(lib, entry, "__init__.py"))]
        stale = [name for name in list(sys.modules) if name.split(".")[0] in packages]
        if not any(host._reload.is_set() for host in self.hosts):
            self._event("reload", "%s changed; reloading every sensor (actions run fresh "
                        "anyway)" % os.path.relpath(path, self.pack_dir))
        for host in self.hosts:
            host.reload(forget_modules=stale)


def _handle_sigint(event):
    """Make SIGINT set ``event``; return the previous handler (None outside the main thread,
    where Python allows no signal handler)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGINT, lambda signum, frame: event.set())


def _restore_sigint(previous):
    if previous is not None:
        signal.signal(signal.SIGINT, previous)


def _describe(result):
    inner = result.get("result") if isinstance(result, dict) else result
    if isinstance(inner, dict) and "changed_count" in inner:
        return "%d marked %r, %d already marked" % (
            inner["changed_count"], inner.get("status"), inner.get("already_marked_count", 0))
    if isinstance(inner, dict) and inner.get("request_id") and inner.get("state"):
        return "request %s %s" % (inner["request_id"], inner["state"])
    if isinstance(inner, dict):
        for key in ("message", "error"):
            if inner.get(key):
                return str(inner[key])[:160]
    if isinstance(result, dict) and result.get("error"):
        return str(result["error"])[:160]
    if isinstance(result, dict) and result.get("stderr"):
        return result["stderr"].strip().splitlines()[-1][:160]
    return str(inner)[:160]
