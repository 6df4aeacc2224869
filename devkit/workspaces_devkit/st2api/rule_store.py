"""Rules written through the API: validated as StackStorm does, saved as YAML, live at once.

``POST /rules``, ``PUT /rules/<ref or id>`` and ``DELETE /rules/<ref or id>`` end here. A rule is
checked in StackStorm's order (st2api's rules controller over ``RuleAPI``): the request body
against the rule's API schema, the trigger type's existence and its ``parameters_schema``, the
criteria (operator and pattern on each), then the checks the pack's own content validator
(``content.rule_errors``) applies to a rule file; any refusal is a 400 naming the field. What
StackStorm stores but will not carry out as the author may expect (a payload field nested in an
object parameter, sent as text; an action or action parameter that does not exist, so every
enforcement fails; a criterion on a field the payload does not have) is stored as StackStorm
stores it, with one warning per problem handed to ``publish``. A second rule with the same
ref is a 409 with ``conflict-id``; an unknown rule a 404. A rule may belong to another pack
(StackStorm's ``default`` holds site rules) when it uses this pack's trigger or action and there
is an overlay.

An accepted rule is written as ``<name>.yaml`` (another pack's: ``<pack>.<name>.yaml``) into the
rules directory: the pack's ``rules/``, or an overlay directory (``rules_dir``) for a read-only
checkout; the first write into an overlay copies the pack's rules into it (each file written
aside and renamed, the set marked as being filled until done, so a reload of the watching runner
never sees a partial file or set), after which the overlay holds every rule. Names that are not
plain file names are refused, and no path outside that directory is ever written. Then
``pack.rules`` is replaced by the directory's rules: the runner's rule engine reads that list on
every trigger, so the change is live for the next trigger, with no file watcher in between.
"""

import copy
import os
import threading

import jsonschema
import yaml

from workspaces_devkit.atomic_files import atomic_write
from workspaces_devkit.content import (NAME_RE, OVERLAY_FILLING, OVERLAY_MARKER, PACK_REF_RE,
                                      load_rules, rule_errors)
from workspaces_devkit.st2api import shapes
from workspaces_devkit.st2api.errors import ApiError, bad_request, not_found

__all__ = ["RuleStore"]

#: What a rule body may hold: StackStorm's RuleAPI model, written out here from its reading.
RULE_BODY_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": ["string", "null"]},
        "ref": {"type": "string"},
        "uid": {"type": "string"},
        "name": {"type": "string", "required": True},
        "pack": {"type": "string"},
        "description": {"type": ["string", "null"]},
        "type": {"type": "object",
                 "properties": {"ref": {"type": "string", "required": True},
                                "parameters": {"type": "object"}}},
        "trigger": {"type": "object", "required": True,
                    "properties": {"type": {"type": "string", "required": True},
                                   "description": {"type": "string"},
                                   "parameters": {"type": "object"},
                                   "ref": {"type": "string"}},
                    "additionalProperties": True},
        "criteria": {"type": "object"},
        "action": {"type": "object", "required": True,
                   "properties": {"ref": {"type": "string", "required": True},
                                  "description": {"type": "string"},
                                  "parameters": {"type": "object"}},
                   "additionalProperties": False},
        "enabled": {"type": "boolean"},
        "context": {"type": "object"},
        "tags": {"type": "array", "items": {"type": "object"}},
        "metadata_file": {"type": "string"},
    },
    "additionalProperties": False,
}
_SYSTEM_TRIGGER_PREFIX = "core."


class RuleStore(object):
    """Creates, replaces and deletes rule files of ``pack`` and keeps ``pack.rules`` current.

    ``rules_dir`` is an overlay directory (None: the pack's ``rules/``). ``publish(name, body,
    warnings)`` hears ``st2.rule__create`` / ``__update`` / ``__delete`` with the rule's API
    document and the ``ContentError`` warnings of the rule written (what StackStorm stores but
    will not carry out as the author may expect).
    """

    def __init__(self, pack, rules_dir=None, publish=None):
        self.pack = pack
        self.overlay = os.path.abspath(rules_dir) if rules_dir else None
        self.directory = self.overlay or os.path.join(pack.pack_dir, "rules")
        self._publish = publish or (lambda name, body, warnings: None)
        self._lock = threading.Lock()

    # --- reading -----------------------------------------------------------------------------
    def find(self, ref_or_id):
        """Return the ``RuleSpec`` whose ref or API id is ``ref_or_id``, or None."""
        for rule in list(self.pack.rules):
            if ref_or_id in (rule.ref, shapes.stable_id("rule", rule.ref)):
                return rule
        return None

    def _doc(self, rule_ref):
        rule = self.find(rule_ref)
        return shapes.rule_doc(self.pack, rule) if rule is not None else None

    # --- writing -----------------------------------------------------------------------------
    def create(self, body, user):
        """Validate and write a new rule; return its API document (409 if the ref exists)."""
        warnings = []
        meta = self._validated(body, warnings)
        ref = "%s.%s" % (meta["pack"], meta["name"])
        with self._lock:
            existing = self.find(ref)
            if existing is not None:
                raise self._conflict(existing)
            self._write(meta, None)
        doc = self._doc(ref)
        self._publish("st2.rule__create", doc, warnings)
        return doc

    def update(self, ref_or_id, body, user):
        """Replace the rule ``ref_or_id`` (404 if unknown); return its new API document."""
        warnings = []
        with self._lock:
            old = self.find(ref_or_id)
            if old is None:
                raise self._not_found(ref_or_id)
            meta = self._validated(body, warnings)
            ref = "%s.%s" % (meta["pack"], meta["name"])
            clash = self.find(ref)
            if clash is not None and clash.ref != old.ref:
                raise self._conflict(clash)
            self._write(meta, old)
        doc = self._doc(ref)
        self._publish("st2.rule__update", doc, warnings)
        return doc

    def delete(self, ref_or_id, user):
        """Delete the rule ``ref_or_id`` (404 if unknown)."""
        with self._lock:
            old = self.find(ref_or_id)
            if old is None:
                raise self._not_found(ref_or_id)
            doc = shapes.rule_doc(self.pack, old)
            self._prepare_overlay()
            path = self._own_path(self._path_in_directory(old))
            os.remove(path)
            self._reload(removed=path)
        self._publish("st2.rule__delete", doc, [])

    # --- validation --------------------------------------------------------------------------
    def _validated(self, body, warnings=None):
        """Return the rule's YAML document from a request body, or raise a 400.

        What StackStorm stores although it will not do what the author may expect (see
        ``content.rule_errors``) is appended to ``warnings`` (``ContentError``s) when given.
        """
        from st2common.util import schema as util_schema

        if not isinstance(body, dict):
            raise bad_request("%r is not of type 'object'" % (body,))
        try:
            util_schema.validate(copy.deepcopy(body), RULE_BODY_SCHEMA,
                                 util_schema.CustomValidator, use_default=False)
        except jsonschema.ValidationError as error:
            raise bad_request(error.message)
        trigger = body["trigger"]
        trigger_type = trigger["type"]
        meta = {"name": body["name"], "pack": body.get("pack") or self.pack.ref,
                "description": body.get("description") or "",
                "enabled": bool(body.get("enabled", False)),
                "trigger": {"type": trigger_type}}
        if meta["pack"] != self.pack.ref and (self.overlay is None or
                                              not PACK_REF_RE.match(meta["pack"])):
            # StackStorm keeps a rule of any pack (RuleAPI, default pack "default"); here a rule
            # of another pack lives in the overlay only: the pack's rules/ must hold its own.
            raise bad_request('Pack "%s" is not served here: the local runner writes rules of '
                              'pack "%s"%s.' % (meta["pack"], self.pack.ref, (
                                  " and of other packs named like %s" % PACK_REF_RE.pattern)
                                  if self.overlay else " only (other packs need --rules-dir)"))
        if not NAME_RE.match(meta["name"]) or meta["name"] in (".", ".."):
            raise bad_request('Rule name "%s" is not allowed: use letters, digits, "_", "-" '
                              'and "." (it becomes the rule\'s file name).' % meta["name"])
        parameters = trigger.get("parameters") or {}
        if parameters:
            meta["trigger"]["parameters"] = copy.deepcopy(parameters)
        spec = self.pack.trigger_types().get(trigger_type)
        if spec is None and not trigger_type.startswith(_SYSTEM_TRIGGER_PREFIX):
            raise bad_request('Trigger "%s" defined in the rule does not exist in system or '
                              'it\'s missing required "parameters" attribute' % trigger_type)
        if spec is not None and spec.get("parameters_schema"):
            try:
                util_schema.validate(copy.deepcopy(parameters), spec["parameters_schema"],
                                     util_schema.CustomValidator, use_default=True,
                                     allow_default_none=True)
            except jsonschema.ValidationError as error:
                # st2api's rules controller: abort(400, six.text_type(e)), the whole text
                raise bad_request(str(error))
        criteria = copy.deepcopy(body.get("criteria") or {})
        self._check_criteria(criteria)
        if criteria:
            meta["criteria"] = criteria
        action = body["action"]
        meta["action"] = {"ref": action["ref"],
                          "parameters": copy.deepcopy(action.get("parameters") or {})}
        if body.get("tags"):
            meta["tags"] = copy.deepcopy(body["tags"])
        problems = rule_errors(self.pack, meta, self._file_name(meta),
                               require_description=False, warnings=warnings)
        if problems:
            raise bad_request("; ".join("%s: %s" % (p.field, p.message) for p in problems))
        return meta

    @staticmethod
    def _check_criteria(criteria):
        """StackStorm's criteria checks (operator given and known, pattern given)."""
        from workspaces_devkit.content import CRITERIA_OPERATORS

        for key, criterion in criteria.items():
            operator = criterion.get("type") if isinstance(criterion, dict) else None
            if operator is None:
                raise bad_request("Operator not specified for field: %s" % key)
            if operator not in CRITERIA_OPERATORS:
                raise bad_request("For field: %s, operator %s not in list of allowed operators: "
                                  "%s" % (key, operator, sorted(CRITERIA_OPERATORS)))
            if criterion.get("pattern") is None:
                raise bad_request("For field: %s, no pattern specified for operator %s"
                                  % (key, operator))

    def _conflict(self, rule):
        uid = "rule:%s:%s" % (rule.meta.get("pack") or self.pack.ref, rule.name)
        return ApiError(409, "Tried to save duplicate unique keys (rule %s already exists: "
                             "uid %s)" % (rule.ref, uid),
                        {"conflict-id": shapes.stable_id("rule", rule.ref)})

    @staticmethod
    def _not_found(ref_or_id):
        return not_found('Resource with a reference or id "%s" not found' % ref_or_id)

    # --- files -------------------------------------------------------------------------------
    def _own_path(self, path):
        """Return ``path`` if it is a file directly in the rules directory; refuse otherwise."""
        real_dir = os.path.realpath(self.directory)
        real = os.path.realpath(path)
        if os.path.dirname(real) != real_dir:
            raise ApiError(403, "Refusing to write %s: outside the rules directory %s"
                           % (os.path.basename(path), self.directory))
        return real

    def _file_name(self, meta):
        """``<name>.yaml`` for a rule of this pack, ``<pack>.<name>.yaml`` for another pack's."""
        pack = meta.get("pack") or self.pack.ref
        return "%s.yaml" % meta.get("name") if pack == self.pack.ref else \
            "%s.%s.yaml" % (pack, meta.get("name"))

    def _path_in_directory(self, rule):
        """The file of ``rule`` inside the rules directory (the overlay copy when there is one)."""
        return os.path.join(self.directory, os.path.basename(rule.path))

    def _prepare_overlay(self):
        """Copy the pack's rules into an overlay that was never written to."""
        if self.overlay is None:
            return
        os.makedirs(self.overlay, exist_ok=True)
        marker = os.path.join(self.overlay, OVERLAY_MARKER)
        filling = os.path.join(self.overlay, OVERLAY_FILLING)
        if os.path.exists(marker) and not os.path.exists(filling):
            return
        self._fresh = True  # the rule list is re-read from the overlay after this write
        unused = not any(name.endswith((".yaml", ".yml")) for name in os.listdir(self.overlay))
        if unused or os.path.exists(filling):
            # While the filling marker stands, a reload reads the pack's rules (the same set
            # as the copies); each copy is written whole; the overlay counts once marked.
            atomic_write(filling, "copying the rules of pack %s\n" % self.pack.ref)
            source = os.path.join(self.pack.pack_dir, "rules")
            for name in sorted(os.listdir(source)) if os.path.isdir(source) else []:
                if name.endswith((".yaml", ".yml")):
                    with open(os.path.join(source, name)) as handle:
                        atomic_write(os.path.join(self.overlay, name), handle.read())
        atomic_write(marker, "This directory holds the rules of pack %s (workspaces-local "
                             "--rules-dir).\n" % self.pack.ref)
        if os.path.exists(filling):
            os.remove(filling)

    def _write(self, meta, old):
        self._prepare_overlay()
        target = self._own_path(os.path.join(self.directory, self._file_name(meta)))
        if old is not None:
            old_path = self._own_path(self._path_in_directory(old))
            if os.path.basename(old.path) != self._file_name(old.meta) or \
                    self._file_name(old.meta) == self._file_name(meta):
                target = old_path  # keep the file the rule lives in
        if os.path.exists(target) and (old is None or target != self._own_path(
                self._path_in_directory(old))):
            raise ApiError(409, "Tried to save duplicate unique keys (file %s already holds "
                                "another rule)" % os.path.basename(target))
        text = "---\n" + yaml.safe_dump(meta, default_flow_style=False, sort_keys=False)
        atomic_write(target, text)
        removed = None
        if old is not None:
            old_path = self._own_path(self._path_in_directory(old))
            if old_path != target and os.path.exists(old_path):
                os.remove(old_path)
                removed = old_path
        self._reload(removed=removed, written=target)

    def _reload(self, removed=None, written=None):
        """Replace ``pack.rules`` (one assignment: a reader sees the old or the new list).

        Only the written file is parsed; the whole directory is re-read after the overlay was
        first filled.
        """
        if getattr(self, "_fresh", False):
            self._fresh = False
            self.pack.rules = load_rules(self.pack, self.directory)
            return
        gone = {os.path.realpath(path) for path in (removed, written) if path}
        rules = [rule for rule in self.pack.rules
                 if os.path.realpath(self._path_in_directory(rule)) not in gone]
        if written:
            rules.append(self.pack.load_rule(written))
        rules.sort(key=lambda rule: (rule.path.endswith(".yml"), rule.path))
        self.pack.rules = rules
