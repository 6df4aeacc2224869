"""Hot reload on the real engine: what changes on disk is registered again, sensors restart.

``Reloader(engine).watch()`` (a green thread) looks at the pack's content files, the rules folder
and the pack config every half second: a changed sensor file restarts that sensor; the pack's
shared code (``actions/lib``) or config restarts every sensor; changed actions, rules, policies,
trigger types and config are registered again. Each reload prints one line.
"""

import os
import sys

import eventlet

__all__ = ["Reloader"]

_FOLDERS = ("sensors", "actions", "policies", "triggers")  # each registered as its own kind


class Reloader(object):
    """Watches the files of ``engine`` (a ``StackStormInProcess``); ``every`` seconds."""

    def __init__(self, engine, every=0.5):
        self.engine = engine
        self.every = every
        self._seen = self._snapshot()

    def _snapshot(self):
        """``{path: (mtime, size)}`` of the pack's content files, the rules and the config."""
        engine = self.engine
        paths = [os.path.join(engine.pack_dir, "config.schema.yaml")]
        if engine.config_path:
            paths.append(os.path.abspath(engine.config_path))
        for folder in _FOLDERS + (engine.rules_dir,):
            for root, dirs, names in os.walk(os.path.join(engine.pack_dir, folder)):
                dirs[:] = [d for d in dirs if not d.startswith((".", "__"))]
                paths += [os.path.join(root, name) for name in names
                          if name.endswith((".py", ".yaml", ".yml")) and not name.startswith(".")]
        seen = {}
        for path in paths:
            try:
                stat = os.stat(path)
            except OSError:
                continue
            seen[path] = (stat.st_mtime_ns, stat.st_size)
        return seen

    def watch(self):
        """Check for changes until killed."""
        while True:
            eventlet.sleep(self.every)
            now = self._snapshot()
            changed = sorted(set(now.items()) ^ set(self._seen.items()))
            self._seen = now
            paths = sorted(set(path for path, _stamp in changed))
            if paths:
                try:
                    self.reload(paths)
                except Exception as error:  # a bad file: say so and keep watching
                    self.engine.out.write("reload failed: %s\n" % error)
                self.engine.out.flush()

    def reload(self, paths):
        """Register again what ``paths`` hold; restart the sensors they concern."""
        engine = self.engine
        kinds, restart = set(), set()
        for path in paths:
            relative = os.path.relpath(path, engine.pack_dir)
            if path.startswith(engine.rules_dir + os.sep):
                kinds.add("rules")
            elif path in (engine.config_path and os.path.abspath(engine.config_path),
                          os.path.join(engine.pack_dir, "config.schema.yaml")):
                kinds.add("configs")
                restart.add(None)
            elif relative.startswith(os.path.join("actions", "lib") + os.sep):
                restart.add(None)
            else:
                kinds.update(folder for folder in _FOLDERS
                             if relative.startswith(folder + os.sep))
                if relative.startswith("sensors" + os.sep):
                    restart.add(self._sensor_of(path))
        for kind in sorted(kinds):
            engine.register(kind)
        engine.out.write("reload: %s registered again (%s)\n" % (
            ", ".join(sorted(kinds)) or "nothing", ", ".join(
                os.path.relpath(p, engine.pack_dir) for p in paths)))
        if restart:
            self._restart(None if None in restart else restart)

    def _sensor_of(self, path):
        """The class name of the sensor whose file (or definition) ``path`` is, else None."""
        from st2common.persistence.sensor import SensorType

        stem = os.path.splitext(os.path.basename(path))[0]
        for sensor in SensorType.query(pack=self.engine.pack_ref):
            if os.path.splitext(os.path.basename(sensor.artifact_uri))[0] == stem:
                return sensor.name
        return None

    def _restart(self, names):
        running = set(self.engine.sensors)  # `api` runs none
        names = running if names is None else set(names) & running
        if not names:
            return
        if names == running:  # shared code or config: every sensor, on fresh modules
            for module in [m for m in sys.modules if m.startswith("workspaces_pack")]:
                del sys.modules[module]
        self.engine.stop_sensors(names)
        self.engine.start_sensors(names)
        self.engine.out.write("reload: restarted %s\n" % ", ".join(sorted(names)))
