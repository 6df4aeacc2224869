"""Crash points: a sensor killed at each of its side effects, then restarted on the same datastore.

A *scenario* is a short script (steps below) run against a sensor of the pack. A dry run counts
its side effects: every ``dispatch``, ``set_value`` and ``delete_value`` that takes effect. Then,
for every k of that count, the scenario runs again with the process dying at the k-th side effect,
once just before it takes effect and once just after. After the death (and after the items of
``down`` arriving while it is down) a new sensor instance on the same datastore polls until a
poll dispatches nothing. Each case checks docs/GUARANTEES.md:

- G1, nothing lost: every item that arrived once the trigger's ``start`` step had returned is
  dispatched, to every trigger of the source;
- G2, repeats: an item is dispatched twice at most, and only when it was dispatched in the last
  poll, of a process that died, that dispatched for that trigger;
- nothing else: no item the scenario did not make, no file that was there before the trigger
  (file sensors), every payload valid against its trigger's ``payload_schema``.

The death is injected by wrapping the methods of the test's sensor service on the instance, so
the harness runs on the stand-ins and under ``st2-run-pack-tests`` with StackStorm's own
``MockSensorService`` alike. A *world* (one per sensor) makes the sensor, its triggers and its
items (files or archive rows).

Steps: ``("baseline", n)`` n items before the trigger starts; ``("start",)`` a sensor instance
with its triggers added; ``("arrive", n)``; ``("poll",)``; ``("restart",)`` a new instance
(the old one is dropped without cleanup); ``("outage", on)`` the datastore refusing writes (reads
answer); ``("die",)`` the process dies here.
"""

import collections
import logging
import os
import time
from unittest import mock

from pack_test_support import DatastoreOutage

EFFECTS = ("dispatch", "set_value", "delete_value")
PROBLEM_TRIGGER = "workspaces.sensor_problem"
QUIET_POLLS = 8

Scenario = collections.namedtuple("Scenario", ["name", "steps", "triggers", "down"])
Scenario.__new__.__defaults__ = (1, 1)

SCENARIOS = (
    Scenario("first poll after add_trigger",
             (("baseline", 2), ("start",), ("arrive", 3), ("poll",), ("poll",))),
    Scenario("restart before any poll",
             (("start",), ("arrive", 2), ("restart",), ("arrive", 1), ("poll",))),
    Scenario("items arriving while down",
             (("start",), ("arrive", 1), ("poll",), ("arrive", 2), ("poll",)), down=3),
    Scenario("a burst", (("start",), ("poll",), ("arrive", 8), ("poll",), ("poll",))),
    Scenario("two triggers on one source",
             (("start",), ("arrive", 1), ("poll",), ("arrive", 2), ("poll",)), triggers=2),
    Scenario("a write outage, then a death",
             (("start",), ("poll",), ("outage", True), ("arrive", 2), ("poll",), ("arrive", 2),
              ("poll",), ("arrive", 2), ("poll",), ("die",))),
)


class SensorKilled(BaseException):
    """The sensor process dies (not an ``Exception``: nothing in the sensor catches it)."""


class SideEffects(object):
    """Wrap a sensor service's side effects: count them, log dispatches, die at the k-th."""

    def __init__(self, service, crash_at=None, after=False):
        self.count = 0
        self.crash_at = crash_at
        self.after = after
        self.crashed = False
        self.dispatches = []  # (life, poll, trigger ref, payload) of dispatches that took effect
        self.life = 0
        self.poll = 0
        for name in EFFECTS:
            setattr(service, name, self._wrap(name, getattr(service, name)))

    def _wrap(self, name, method):
        def effect(*args, **kwargs):
            if self.crashed:  # code the dead process would not run (a ``finally``)
                raise SensorKilled()
            self.count += 1
            dies = self.count == self.crash_at
            if dies and not self.after:
                self._die()
            result = method(*args, **kwargs)
            if name == "dispatch":
                ref = kwargs["trigger"] if "trigger" in kwargs else args[0]
                self.dispatches.append((self.life, self.poll, ref, kwargs.get("payload")))
            if dies:
                self._die()
            return result
        return effect

    def _die(self):
        self.crashed = True
        raise SensorKilled()

    def next_life(self, disarm=True):
        """A new process: side effects are counted on (with ``disarm``, never killed again)."""
        if disarm:
            self.crash_at = None
        self.crashed = False
        self.life += 1
        self.poll = 0


class CrashCase(object):
    """One run of a scenario with a death at side effect ``crash_at`` (None: no death)."""

    def __init__(self, test, world, scenario, crash_at=None, after=False):
        self.test = test
        self.world = world
        self.scenario = scenario
        test.new_sensor_service()
        self.effects = SideEffects(test.sensor_service, crash_at, after)
        self.outage = None
        self.sensor = None
        self.triggers = world.make_triggers(test, scenario.triggers)
        self.started = False
        self.died = False
        self.baseline = list(world.existing())
        self.expected = []
        self.made = list(self.baseline)
        self.ended_lives = []

    def run(self):
        """Run the scenario, the death and the restart; return the problems found (text)."""
        try:
            for step in self.scenario.steps:
                self._step(*step)
        except SensorKilled:
            self.died = self.effects.crashed
            self._arrive(self.scenario.down)
        self.scenario_effects = self.effects.count
        self._end_life()
        self.sensor = self._start()
        quiet = False
        for _ in range(QUIET_POLLS):
            before = len(self._items())
            self._poll()
            if len(self._items()) == before:
                quiet = True
                break
        problems = [] if quiet else ["still dispatching after %d polls" % QUIET_POLLS]
        return problems + self._check()

    # --- steps -------------------------------------------------------------------------------
    def _step(self, action, argument=None):
        if action == "baseline":
            items = self.world.arrive(argument, before_start=True)
            self.baseline.extend(items)
            self.made.extend(items)
        elif action == "start":
            self.sensor = self._start()
        elif action == "arrive":
            self._arrive(argument)
        elif action == "poll":
            self._poll()
        elif action == "restart":
            self._end_life(disarm=False)
            self.sensor = self._start()
        elif action == "outage":
            self._set_outage(argument)
        elif action == "die":
            raise SensorKilled()

    def _start(self):
        sensor = self.world.new_sensor(self.test, self.triggers)
        if not self.started:
            self.started = True
            if self.world.baseline_dispatched:
                self.expected.extend(self.baseline)
        return sensor

    def _arrive(self, count):
        items = self.world.arrive(count, before_start=False)
        self.made.extend(items)
        if self.started:
            self.expected.extend(items)

    def _poll(self):
        self.effects.poll += 1
        self.world.tick()
        self.sensor.poll()

    def _set_outage(self, on):
        if on:
            self.outage = DatastoreOutage(self.test.sensor_service, get_returns_none=False,
                                          lists_fail=False).start()
        elif self.outage is not None:
            self.outage.stop()
            self.outage = None

    def _end_life(self, disarm=True):
        self._set_outage(False)
        self.ended_lives.append(self.effects.life)
        self.effects.next_life(disarm)
        self.sensor = None

    # --- checks ------------------------------------------------------------------------------
    def _items(self):
        """``[(life, poll, trigger ref, item)]`` of every item dispatched, in order."""
        return [(life, poll, ref, item)
                for life, poll, ref, payload in self.effects.dispatches if ref != PROBLEM_TRIGGER
                for item in self.world.items_of(payload)]

    def _allowed_repeats(self):
        """Per trigger: the items of the last dispatching poll of each process that died."""
        last = {}
        for life, poll, ref, item in self._items():
            if life in self.ended_lives:
                last.setdefault((life, ref), {}).setdefault(poll, set()).add(item)
        allowed = collections.defaultdict(set)
        for (life, ref), polls in last.items():
            allowed[ref] |= polls[max(polls)]
        return allowed

    def _check(self):
        problems = []
        dispatched = collections.Counter((ref, item) for _, _, ref, item in self._items())
        refs = self.world.refs(self.triggers)
        lost = [(ref, item) for ref in refs for item in self.expected
                if (ref, item) not in dispatched]
        if lost:
            problems.append("lost %s" % lost)
        allowed = self._allowed_repeats()
        repeated = [(key, count) for key, count in dispatched.items() if count > 1 and
                    (count > 2 or key[1] not in allowed[key[0]])]
        if repeated:
            problems.append("repeated beyond G2: %s" % repeated)
        unknown = [key for key in dispatched if key[0] not in refs or key[1] not in self.made or
                   (key[1] in self.baseline and not self.world.baseline_dispatched)]
        if unknown:
            problems.append("dispatched but not new: %s" % unknown)
        self.test.assert_dispatches_valid()
        return problems


class CrashPointsMixin(object):
    """Mix into a ``SchemaCheckedSensorTestCase`` beside a world; ``check_scenario`` runs every
    crash point of a scenario (see the module docstring) and fails listing the cases that broke."""

    world = None

    def new_sensor_service(self):
        """A fresh sensor service (an empty datastore, no dispatches) of the test's own type."""
        old = self.sensor_service
        extra = {"trigger_types": old.trigger_types} if hasattr(old, "trigger_types") else {}
        self.sensor_service = type(old)(sensor_wrapper=old._sensor_wrapper, **extra)
        quiet = logging.getLogger("crash_points.sensors")
        quiet.propagate = "CRASH_LOG_LEVEL" in os.environ
        quiet.setLevel(int(os.environ.get("CRASH_LOG_LEVEL", logging.CRITICAL + 1)))
        self.sensor_service.get_logger = lambda name: quiet
        self._checked_dispatches = 0

    def check_scenario(self, scenario):
        """Run ``scenario`` without a death and with one at every side effect; return the
        number of cases run."""
        if scenario.triggers > self.world.max_triggers:
            self.skipTest("%s serves one trigger" % self.sensor_cls.__name__)
        failures = []
        dry = CrashCase(self, self.world.reset(), scenario)
        failures.extend("no injected death: %s" % problem for problem in dry.run())
        total = dry.scenario_effects
        cases = 1
        for crash_at in range(1, total + 1):
            for after in (False, True):
                case = CrashCase(self, self.world.reset(), scenario, crash_at, after)
                problems = case.run()
                if not case.died:
                    problems.append("the sensor did not reach this side effect")
                failures.extend("death %s side effect %d: %s" % (
                    "after" if after else "before", crash_at, problem) for problem in problems)
                cases += 1
        self.assertGreater(total, 3, "the scenario has too few side effects to test")
        self.assertFalse(failures, "%s: %d problems in %d cases:\n%s" % (
            scenario.name, len(failures), cases, "\n".join(failures[:12])))
        return cases


def scratch_folder(test, prefix):
    """A folder for one test, removed after it; in memory (``/dev/shm``) where there is one,
    as the cases write and fsync a lot."""
    import shutil
    import tempfile

    memory = "/dev/shm"
    folder = tempfile.mkdtemp(prefix=prefix, dir=memory if os.access(memory, os.W_OK) else None)
    test.addCleanup(shutil.rmtree, folder, True)
    return folder


def scenario_tests(test_class, scenarios):
    """Add one ``test_<n>_<name>`` method per scenario to ``test_class``."""
    def make(scenario):
        def test(self):
            self.check_scenario(scenario)
        test.__doc__ = "Guarantee G1, Guarantee G2: %s." % scenario.name
        return test
    for index, scenario in enumerate(scenarios):
        name = "_".join("".join(c if c.isalnum() else " " for c in scenario.name).split())
        setattr(test_class, "test_%d_%s" % (index, name), make(scenario))


class FileWorld(object):
    """A folder for the file sensors.

    A new file's times are set to the precise clock's time, so that it counts as arrived after
    the trigger started however coarse the file system's timestamps are; a file made before the
    start keeps its own times.
    """

    baseline_dispatched = False

    def __init__(self, root):
        self.root = root
        self.folder = None
        self.made = 0
        self.cases = 0

    def reset(self):
        """A new, empty folder for one case; return self."""
        self.cases += 1
        self.folder = os.path.join(self.root, "case%05d" % self.cases)
        os.makedirs(self.folder)
        self.made = 0
        return self

    def tick(self):
        """A poll interval passes (the sensor reads the real clock: settle_seconds is 0)."""

    def existing(self):
        """Items there before the case begins: none."""
        return []

    def write(self, folder, name, before_start):
        """Make one file; return its name."""
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, name)
        with open(path, "wb") as handle:
            handle.write(b"x" * 10)
        if not before_start:  # the precise time: the file system's clock may lag a tick
            stamp = time.time_ns()
            os.utime(path, ns=(stamp, stamp))
        return name


class ArchiveWorld(object):
    """SQLite copies of the sample archive day (``archive_fixtures.load_sample``), one per case.

    The sample is made once per world; each case gets a fresh copy (the pack's pooled
    connections closed first). Rows arrive a minute before the real clock, inside the look-back.
    """

    baseline_dispatched = True

    def __init__(self, root):
        import sqlalchemy as sa
        from workspaces_devkit import archive_fixtures

        self.root = root
        self.template = {name: os.path.join(root, "%s.sqlite" % name)
                         for name in ("alma", "metadata")}
        engines = {name: sa.create_engine("sqlite:///" + path)
                   for name, path in self.template.items()}
        self.sample = archive_fixtures.load_sample(engines["alma"], engines["metadata"])
        for engine in engines.values():
            engine.dispose()
        self.engine = None
        self.made = 0
        tables = archive_fixtures.alma_fixture_tables()  # built once, not at every added row
        self._tables = mock.patch.object(archive_fixtures, "alma_fixture_tables",
                                         lambda metadata=None, mapping=None: tables)
        self._tables.start()

    def reset(self):
        """Fresh copies of the databases for one case; return self."""
        import shutil

        import sqlalchemy as sa
        from workspaces_pack.archive.engines import dispose_engines

        dispose_engines()
        if self.engine is not None:
            self.engine.dispose()
        self.urls = {}
        for name, path in self.template.items():
            copy = os.path.join(self.root, "case-%s.sqlite" % name)
            shutil.copyfile(path, copy)
            self.urls[name] = "sqlite:///" + copy
        self.engine = sa.create_engine(self.urls["alma"])
        sa.event.listen(self.engine, "connect", _no_sync)
        self.made = 0
        return self

    def config(self):
        """The pack config of the case (the scheduled reconciliation off: not the poll path)."""
        return {"alma_archive_db_url": self.urls["alma"],
                "archive_metadata_db_url": self.urls["metadata"],
                "database_timeout_seconds": 3, "alma_reconcile_interval_hours": 0}

    def tick(self):
        """A poll interval passes (the archive's rows carry real times)."""

    def close(self):
        """Close the world's connections."""
        self._tables.stop()
        if self.engine is not None:
            self.engine.dispose()


def _no_sync(connection, record):
    """A case's rows need not reach the disk (SQLite's fsync per commit is most of the time)."""
    connection.execute("PRAGMA synchronous=OFF")
