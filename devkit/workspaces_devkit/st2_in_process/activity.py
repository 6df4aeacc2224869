"""What StackStorm did, read from its database: trigger instances, executions, health records.

``Activity(engine)`` gives the demo (and ``workspaces-local run``'s output) the view the emulated
runner keeps (``dispatches``, ``executions``, ``pending_actions()``, ``dropped``,
``status_report()``); ``follow()`` prints one line per trigger instance and finished execution.
"""

import logging
import logging.handlers
import sys

import eventlet

__all__ = ["Activity"]

_INTERNAL = "core.st2."  # StackStorm's own trigger types (datastore, action triggers ...)
_DONE = ("succeeded", "failed", "timeout", "canceled", "abandoned")


class Activity(object):
    """The view of ``engine`` (a started ``StackStormInProcess``)."""

    def __init__(self, engine):
        self.engine = engine
        self._types = {}
        self._dropped = logging.handlers.BufferingHandler(capacity=sys.maxsize)
        self._dropped.setLevel(logging.WARNING)  # StackStorm's trigger dispatcher logs each one
        self._dropped.addFilter(lambda record: record.getMessage().startswith(
            "Failed to validate payload"))
        logging.getLogger().addHandler(self._dropped)

    @property
    def dropped(self):
        """The payloads StackStorm's trigger dispatcher refused (its log messages)."""
        return [record.getMessage() for record in self._dropped.buffer]

    def _type_of(self, trigger_ref):
        """The trigger type of a trigger ref (a parameterised trigger's ref is a uuid)."""
        if trigger_ref not in self._types:
            from st2common.models.db.trigger import TriggerDB

            pack, _, name = trigger_ref.partition(".")
            trigger = TriggerDB.objects(pack=pack, name=name).first()
            self._types[trigger_ref] = trigger.type if trigger is not None else trigger_ref
        return self._types[trigger_ref]

    @property
    def dispatches(self):
        from st2common.models.db.trigger import TriggerInstanceDB

        found = [{"type": self._type_of(item.trigger), "payload": item.payload}
                 for item in TriggerInstanceDB.objects.order_by("occurrence_time")]
        return [item for item in found if not item["type"].startswith(_INTERNAL)]

    @property
    def executions(self):
        from st2common.models.db.execution import ActionExecutionDB

        return list(ActionExecutionDB.objects.order_by("start_timestamp"))

    def pending_actions(self):
        """The executions not finished yet."""
        return [item for item in self.executions if item.status not in _DONE]

    def status_report(self):
        """``workspaces-local status``'s report of StackStorm's datastore and rules."""
        from st2common.models.api.rule import RuleAPI
        from st2common.models.db.keyvalue import KeyValuePairDB
        from st2common.persistence.rule import Rule
        from st2common.util.config_loader import ContentPackConfigLoader
        from workspaces_pack.core.config import PackConfig
        from workspaces_pack.core.health_record import heartbeat_seconds
        from workspaces_pack.core.scrub import Scrubber
        from workspaces_pack.flows.status import (RuleIndex, StatusQuery, build_status,
                                                  read_health_records)

        def list_values(local=False, prefix="", limit=100, offset=0):
            pairs = KeyValuePairDB.objects(name__startswith=prefix).order_by("name")
            return list(pairs[offset:offset + limit])

        rules = RuleIndex([RuleAPI.from_model(rule).__json__() for rule in Rule.get_all()])
        config = PackConfig(ContentPackConfigLoader(self.engine.pack_ref).get_config())
        return build_status(read_health_records(list_values), rules, Scrubber(config),
                            heartbeat_seconds(config), StatusQuery(), config=config)

    def follow(self, out, every=0.5):
        """Print a line per trigger instance and per finished execution (a green thread)."""
        from st2common.models.db.execution import ActionExecutionDB
        from st2common.models.db.trigger import TriggerInstanceDB

        seen_instances, seen_done = set(), set()
        while True:
            eventlet.sleep(every)
            for item in TriggerInstanceDB.objects(id__nin=list(seen_instances)):
                seen_instances.add(item.id)
                if self._type_of(item.trigger).startswith(_INTERNAL):
                    continue
                out.write("trigger  %s %s\n" % (self._type_of(item.trigger), _short(item.payload)))
            for item in ActionExecutionDB.objects(status__in=list(_DONE),
                                                  id__nin=list(seen_done)):
                seen_done.add(item.id)
                rule = (item.rule or {}).get("ref") or "by hand"
                out.write("action   %s %s (%s)\n" % (item.action.get("ref"), item.status, rule))
            out.flush()


def _short(payload, width=100):
    text = ", ".join("%s=%s" % pair for pair in sorted((payload or {}).items()))
    return text if len(text) <= width else text[:width - 3] + "..."
