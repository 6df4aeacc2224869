"""The routes st2web (StackStorm's web UI) needs beyond the CLI's, in StackStorm's shapes.

Read from StackStorm's OpenAPI definition (st2common/openapi.yaml) and its controllers:

- ``GET /actions/views/overview[/<ref or id>]``: actions with runner parameters merged in (the rule
  editor's action form); ``GET /actions/views/entry_point/<ref or id>``: the entry point's text.
- ``GET /rules/views[/<ref or id>]``: rules with ``action.description`` and
  ``trigger.description``; ``POST /rules`` (201), ``PUT /rules/<ref or id>`` (200),
  ``DELETE /rules/<ref or id>`` (204), through ``rule_store``.
- ``GET /packs[/<ref>]``, ``GET /packs/views/file/<ref>/<path>`` (a file of the pack, read-only,
  never outside it); for the Packs page ``GET /packs/index`` (empty: no Exchange index here),
  ``GET /config_schemas[/<pack>]`` and ``GET /configs[/<pack>]`` (secret values always masked,
  whatever ``show_secrets`` says).
- ``GET /ruleenforcements[/views]`` (filters ``rule_ref``, ``rule_id``, ``execution``,
  ``trigger_instance``), ``GET /triggerinstances[/<id>]``.
- ``GET /executions/views/filters``, ``GET /executions/<id>/output``, ``POST
  /executions/<id>/re_run`` (History's Rerun: the same action, parameters merged unless
  ``no_merge``), ``GET /sensortypes[/<ref>]``.
- ``GET /stream``: server-sent events (see ``events``).
"""

import json
import mimetypes
import os

from workspaces_devkit.st2api import shapes
from workspaces_devkit.st2api.errors import bad_request, not_found
from workspaces_devkit.st2api.events import sse_stream
from workspaces_devkit.st2api.executions import PENDING_STATES

__all__ = ["UiRoutes", "StreamResponse", "RawResponse"]

#: ``/executions/views/filters`` answers these (StackStorm's list less the too-broad ones).
_FILTER_FIELDS = (
    ("action", lambda doc: (doc.get("action") or {}).get("ref")),
    ("status", lambda doc: doc.get("status")),
    ("rule", lambda doc: (doc.get("rule") or {}).get("name")),
    ("runner", lambda doc: (doc.get("runner") or {}).get("name")),
    ("trigger", lambda doc: (doc.get("trigger") or {}).get("name")),
    ("trigger_type", lambda doc: (doc.get("trigger_type") or {}).get("name")),
    ("user", lambda doc: (doc.get("context") or {}).get("user")),
)
#: Always returned with ``?include_attributes=`` (StackStorm's overview and rule views).
_OVERVIEW_FIELDS = ("pack", "name", "ref", "parameters", "runner_type")
_RULE_FIELDS = ("pack", "name", "ref", "trigger")
#: ``GET /executions`` filters st2web's History sends (name -> value of an execution document).
EXECUTION_FILTERS = dict(_FILTER_FIELDS, **{
    "id": lambda doc: doc.get("id"),
    "parent": lambda doc: doc.get("parent"),
    "trigger_instance": lambda doc: (doc.get("trigger_instance") or {}).get("id"),
    "liveaction": lambda doc: (doc.get("liveaction") or {}).get("id"),
})
#: What StackStorm shows instead of a secret value (st2common/constants/secrets.py).
MASKED = "********"
_ENFORCEMENT_FILTERS = {
    "rule_ref": lambda doc: doc["rule"]["ref"],
    "rule_id": lambda doc: doc["rule"]["id"],
    "execution": lambda doc: doc.get("execution_id"),
    "trigger_instance": lambda doc: doc.get("trigger_instance_id"),
}


class RawResponse(object):
    """A non-JSON answer: ``body`` bytes with their ``Content-Type``."""

    def __init__(self, status, body, content_type, headers=None):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        self.headers["Content-Type"] = content_type
        self.stream = None


class StreamResponse(object):
    """A streamed answer: ``stream`` yields bytes until the client goes or the stream ends."""

    def __init__(self, stream, headers=None):
        self.status = 200
        self.body = None
        self.stream = stream
        self.headers = {"Content-Type": "text/event-stream; charset=UTF-8",
                        "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        self.headers.update(headers or {})


def execution_filter(query, name):
    """Return a predicate over execution documents for ``?name=value`` (None if not given).

    ``null`` matches a missing value, as StackStorm's ``parent=null`` does.
    """
    if name not in query or name not in EXECUTION_FILTERS:
        return None
    wanted = query[name]
    getter = EXECUTION_FILTERS[name]
    if wanted == "null":
        return lambda doc: getter(doc) in (None, "")
    return lambda doc: getter(doc) == wanted


class UiRoutes(object):
    """Handlers of the st2web routes over a ``Router`` (its backend and listing helpers)."""

    def __init__(self, router):
        self.router = router
        self.backend = router.backend

    def routes(self):
        """``(method, path pattern, handler, needs auth)`` for the Router (before its own)."""
        return [
            ("GET", r"/stream", self.stream, True),
            ("GET", r"/actions/views/overview", self.list_overview, True),
            ("GET", r"/actions/views/overview/(?P<ref>[^/]+)", self.get_overview, True),
            ("GET", r"/actions/views/entry_point/(?P<ref>[^/]+)", self.get_entry_point, True),
            ("GET", r"/rules/views", self.list_rule_views, True),
            ("GET", r"/rules/views/(?P<ref>[^/]+)", self.get_rule_view, True),
            ("POST", r"/rules", self.create_rule, True),
            ("PUT", r"/rules/(?P<ref>[^/]+)", self.update_rule, True),
            ("DELETE", r"/rules/(?P<ref>[^/]+)", self.delete_rule, True),
            ("GET", r"/packs", self.list_packs, True),
            ("GET", r"/packs/index", self.pack_index, True),
            ("GET", r"/config_schemas", self.list_config_schemas, True),
            ("GET", r"/config_schemas/(?P<ref>[^/]+)", self.get_config_schema, True),
            ("GET", r"/configs", self.list_configs, True),
            ("GET", r"/configs/(?P<ref>[^/]+)", self.get_config, True),
            ("GET", r"/packs/views/file/(?P<ref>[^/]+)/(?P<path>.+)", self.get_pack_file, True),
            ("GET", r"/packs/(?P<ref>[^/]+)", self.get_pack, True),
            ("GET", r"/ruleenforcements", self.list_enforcements, True),
            ("GET", r"/ruleenforcements/views", self.list_enforcement_views, True),
            ("GET", r"/ruleenforcements/views/(?P<enforcement_id>[^/]+)",
             self.get_enforcement_view, True),
            ("GET", r"/ruleenforcements/(?P<enforcement_id>[^/]+)", self.get_enforcement, True),
            ("GET", r"/triggerinstances", self.list_trigger_instances, True),
            ("GET", r"/triggerinstances/(?P<instance_id>[^/]+)", self.get_trigger_instance,
             True),
            ("GET", r"/executions/views/filters", self.execution_filters, True),
            ("GET", r"/executions/(?P<execution_id>[^/]+)/output", self.execution_output, True),
            ("POST", r"/executions/(?P<execution_id>[^/]+)/re_run", self.rerun, True),
            ("GET", r"/sensortypes", self.list_sensor_types, True),
            ("GET", r"/sensortypes/(?P<ref>[^/]+)", self.get_sensor_type, True),
        ]

    # --- stream ------------------------------------------------------------------------------
    def stream(self, request):
        """GET /stream: server-sent events of executions (and, when asked, rules)."""
        return StreamResponse(sse_stream(self.backend.events, request.query))

    # --- actions -----------------------------------------------------------------------------
    def _overview(self, action):
        runner = shapes.runner_doc(action.get("runner_type") or "python-script")
        return shapes.action_overview_doc(action, runner)

    def list_overview(self, request):
        """GET /actions/views/overview: every action with its runner parameters merged."""
        docs = [self._overview(doc) for doc in self.backend.list_actions()]
        return self.router.listing(docs, request, ("pack", "name", "id"), _OVERVIEW_FIELDS)

    def _action(self, ref):
        doc = self.backend.get_action(ref)
        if doc is None:
            raise not_found('Resource with a reference or id "%s" not found' % ref)
        return doc

    def get_overview(self, request, ref):
        """GET /actions/views/overview/<ref or id>."""
        return self.router.one(self._overview(self._action(ref)), ref, request,
                               _OVERVIEW_FIELDS)

    def get_entry_point(self, request, ref):
        """GET /actions/views/entry_point/<ref or id>: the entry point's code as text."""
        doc = self._action(ref)
        spec = self.backend.pack.action(doc["ref"])
        path = spec.entry_point if spec is not None else None
        if not path or not os.path.isfile(path):
            raise not_found("Action ref_or_id=%s has no entry_point to output" % ref)
        with open(path, "rb") as handle:
            data = handle.read()
        return RawResponse(200, data, _content_type(path))

    # --- rules -------------------------------------------------------------------------------
    def _rule_view(self, doc):
        action = self.backend.get_action(doc["action"]["ref"]) or {}
        trigger_type = self.backend.get_trigger_type(doc["trigger"]["type"]) or {}
        doc["action"]["description"] = action.get("description") or ""
        doc["trigger"]["description"] = trigger_type.get("description") or ""
        return doc

    def list_rule_views(self, request):
        """GET /rules/views: rules with their action's and trigger's descriptions."""
        docs = [self._rule_view(doc) for doc in self.backend.list_rules()]
        return self.router.listing(docs, request, ("pack", "name", "id"), _RULE_FIELDS)

    def get_rule_view(self, request, ref):
        """GET /rules/views/<ref or id>."""
        doc = self.backend.get_rule(ref)
        if doc is None:
            raise not_found('Resource with a reference or id "%s" not found' % ref)
        return self.router.one(self._rule_view(doc), ref, request, _RULE_FIELDS)

    def create_rule(self, request):
        """POST /rules: 201 with the new rule; 400 invalid, 409 duplicate."""
        doc = self.backend.rule_store.create(request.body, request.user)
        return self.router.response(201, doc)

    def update_rule(self, request, ref):
        """PUT /rules/<ref or id>: 200 with the rule; 400 invalid, 404 unknown, 409 clash."""
        doc = self.backend.rule_store.update(ref, request.body, request.user)
        return self.router.response(200, doc)

    def delete_rule(self, request, ref):
        """DELETE /rules/<ref or id>: 204; 404 unknown."""
        self.backend.rule_store.delete(ref, request.user)
        return self.router.response(204, None)

    # --- packs -------------------------------------------------------------------------------
    def list_packs(self, request):
        """GET /packs: the one pack served."""
        return self.router.listing([shapes.pack_doc(self.backend.pack)], request,
                                   ("ref", "name", "id"))

    def _pack(self, ref):
        doc = shapes.pack_doc(self.backend.pack)
        if ref not in (doc["ref"], doc["id"]):
            raise not_found('Resource with a reference or id "%s" not found' % ref)
        return doc

    def pack_index(self, request):
        """GET /packs/index: no Exchange index is fetched locally (an empty one)."""
        return self.router.response(200, {"status": [], "index": {}})

    def _config_schema(self):
        pack = self.backend.pack
        return {"id": shapes.stable_id("config_schema", pack.ref),
                "uid": "config_schema:%s" % pack.ref, "pack": pack.ref,
                "attributes": pack.config_schema}

    def _config(self):
        pack = self.backend.pack
        values = {}
        for name, value in (self.backend.config or {}).items():
            secret = (pack.config_schema.get(name) or {}).get("secret")
            values[name] = MASKED if secret and value not in (None, "") else value
        return {"id": shapes.stable_id("config", pack.ref), "uid": "config:%s" % pack.ref,
                "pack": pack.ref, "values": values}

    def list_config_schemas(self, request):
        """GET /config_schemas: the pack's config.schema.yaml."""
        return self.router.listing([self._config_schema()], request, mandatory=())

    def get_config_schema(self, request, ref):
        """GET /config_schemas/<pack>."""
        self._pack(ref)
        return self.router.one(self._config_schema(), ref, request, mandatory=())

    def list_configs(self, request):
        """GET /configs: the config the runner uses, secret values masked."""
        return self.router.listing([self._config()], request, mandatory=())

    def get_config(self, request, ref):
        """GET /configs/<pack>, secret values masked."""
        self._pack(ref)
        return self.router.one(self._config(), ref, request, mandatory=())

    def get_pack(self, request, ref):
        """GET /packs/<ref or id>."""
        return self.router.one(self._pack(ref), ref, request)

    def get_pack_file(self, request, ref, path):
        """GET /packs/views/file/<ref>/<path>: one file of the pack (never outside it).

        With a rules overlay, ``rules/<file>`` is the overlay's file (the rule as it runs).
        """
        doc = self._pack(ref)
        root = os.path.realpath(self.backend.pack.pack_dir)
        overlay = self.backend.rule_store.overlay
        folder, name = os.path.split(path)
        if overlay and folder == "rules" and os.path.isfile(os.path.join(overlay, name)):
            root, path = os.path.realpath(overlay), name
        full = os.path.realpath(os.path.join(root, path))
        if not full.startswith(root + os.sep) or not os.path.isfile(full):
            raise not_found('File "%s" doesn\'t exist in pack "%s"' % (path, doc["ref"]))
        with open(full, "rb") as handle:
            data = handle.read()
        return RawResponse(200, data, _content_type(full))

    # --- rule enforcements and trigger instances ---------------------------------------------
    def _enforcements(self, request):
        docs = self.backend.history.enforcements()
        for name, getter in _ENFORCEMENT_FILTERS.items():
            if request.query.get(name):
                docs = [doc for doc in docs if getter(doc) == request.query[name]]
        return docs

    def _enforcement_view(self, doc):
        instance = self.backend.history.trigger_instance(doc["trigger_instance_id"]) or {}
        execution = {}
        record = self.backend.executions.get(doc.get("execution_id") or "")
        if record is not None:
            full = self.backend.execution_doc(record)
            execution = shapes.select_attributes(full, [
                "action.ref", "action.parameters", "runner.name", "runner.runner_parameters",
                "parameters", "status"])
        doc["trigger_instance"] = instance
        doc["execution"] = execution
        return doc

    def list_enforcements(self, request):
        """GET /ruleenforcements, newest first."""
        return self.router.listing(self._enforcements(request), request, mandatory=())

    def list_enforcement_views(self, request):
        """GET /ruleenforcements/views: with their trigger instance and execution."""
        docs = [self._enforcement_view(doc) for doc in self._enforcements(request)]
        return self.router.listing(docs, request, mandatory=())

    def _enforcement(self, enforcement_id):
        doc = next((d for d in self.backend.history.enforcements()
                    if d["id"] == enforcement_id), None)
        if doc is None:
            raise not_found('Resource with a reference or id "%s" not found' % enforcement_id)
        return doc

    def get_enforcement(self, request, enforcement_id):
        """GET /ruleenforcements/<id>."""
        doc = self._enforcement(enforcement_id)
        return self.router.one(doc, enforcement_id, request, mandatory=())

    def get_enforcement_view(self, request, enforcement_id):
        """GET /ruleenforcements/views/<id>."""
        doc = self._enforcement_view(self._enforcement(enforcement_id))
        return self.router.one(doc, enforcement_id, request, mandatory=())

    def list_trigger_instances(self, request):
        """GET /triggerinstances, newest first (filters ``trigger``, ``trigger_type``)."""
        docs = self.backend.history.trigger_instances(request.query.get("trigger_type") or None)
        return self.router.listing(docs, request, ("trigger", "id"), mandatory=())

    def get_trigger_instance(self, request, instance_id):
        """GET /triggerinstances/<id>."""
        doc = self.backend.history.trigger_instance(instance_id)
        return self.router.one(doc, instance_id, request, mandatory=())

    # --- executions --------------------------------------------------------------------------
    def execution_filters(self, request):
        """GET /executions/views/filters: distinct values of each History filter."""
        wanted = [name for name in (request.query.get("types") or "").split(",") if name]
        docs = [self.backend.execution_doc(r) for r in self.backend.executions.all()]
        filters = {}
        for name, getter in _FILTER_FIELDS:
            if wanted and name not in wanted:
                continue
            values = []
            for doc in docs:
                value = getter(doc)
                if value is None:  # MongoDB's distinct skips documents without the field
                    continue
                if value not in values:
                    values.append(value)
            filters[name] = values
        return self.router.response(200, filters)

    def rerun(self, request, execution_id):
        """POST /executions/<id>/re_run: 201 with a new execution of the same action."""
        record = self.backend.executions.get(execution_id)
        if record is None:
            raise not_found('Resource with a reference or id "%s" not found' % execution_id)
        body = request.body if isinstance(request.body, dict) else {}
        given = body.get("parameters") or {}
        if not isinstance(given, dict):
            raise bad_request("The parameters needs to be a dictionary (was %s)."
                              % type(given))
        no_merge = str(request.query.get("no_merge", "")).lower() in ("true", "1")
        parameters = {} if no_merge else dict(record.parameters)
        parameters.update(given)
        doc = self.backend.execute(record.action_ref, parameters, body.get("user") or request.user,
                                   context={"re-run": {"ref": execution_id}})
        return self.router.response(201, doc)

    def list_sensor_types(self, request):
        """GET /sensortypes: the pack's sensors (the Triggers page)."""
        docs = [shapes.sensor_type_doc(self.backend.pack, spec)
                for spec in self.backend.pack.sensors]
        return self.router.listing(docs, request, ("pack", "name", "enabled"))

    def get_sensor_type(self, request, ref):
        """GET /sensortypes/<ref or id>."""
        doc = next((shapes.sensor_type_doc(self.backend.pack, spec)
                    for spec in self.backend.pack.sensors
                    if ref in ("%s.%s" % (self.backend.pack.ref, spec.class_name),
                               shapes.stable_id("sensor_type", "%s.%s" % (
                                   self.backend.pack.ref, spec.class_name)))), None)
        return self.router.one(doc, ref, request)

    def execution_output(self, request, execution_id):
        """GET /executions/<id>/output: the action's stdout/stderr as text.

        Asked of the stream service (``/stream/v1/executions/<id>/output``, st2web's live output)
        or by an ``EventSource`` (``Accept: text/event-stream``) it answers as st2stream does:
        ``st2.execution.output__create`` events, then ``EOF``. A python action's output is known
        once it has finished, so it comes then.
        """
        record = self.backend.executions.get(execution_id)
        if record is None:
            raise not_found('Resource with a reference or id "%s" not found' % execution_id)
        wanted = request.query.get("output_type") or "all"
        from_stream = request.path.startswith("/stream/")
        if from_stream or "text/event-stream" in request.headers.get("accept", ""):
            return StreamResponse(self._output_events(execution_id, wanted))
        parts = [doc["data"] for doc in shapes.output_docs(record, {}, wanted)]
        return RawResponse(200, "".join(parts).encode("utf-8"), "text/plain")

    def _output_events(self, execution_id, wanted):
        executions = self.backend.executions
        while not self.backend.events.closed:
            record = executions.wait(execution_id, timeout=1.0)
            if record.status not in PENDING_STATES:
                break
            yield b"\n"
        action = self.backend.get_action(record.action_ref) or {}
        for body in shapes.output_docs(record, action, wanted):
            yield ("event: st2.execution.output__create\ndata: %s\n\n"
                   % json.dumps(body)).encode("utf-8")
        yield b"event: EOF\ndata: ''\n\n"


def _content_type(path):
    guessed = mimetypes.guess_type(path)[0]
    if guessed:
        return guessed
    extension = os.path.splitext(path)[1]
    if extension in (".yaml", ".yml"):
        return "application/x-yaml"
    if extension == ".py":
        return "application/x-python"
    return "text/plain"
