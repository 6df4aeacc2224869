"""Action parameters rendered and cast as StackStorm renders them (rules engine and runner).

Behaviour read from StackStorm 3.9.0 (st2common/util/param.py and casts.py; written here, not
copied): parameters, defaults (always for an ``immutable`` parameter), ``st2kv``,
``action_context``, ``config_context`` and ``trigger`` are nodes of one dependency graph rendered
in dependency order, so a parameter may use another by name. A template renders to a STRING; a
list or dict is rendered as its JSON text, so a Jinja expression nested in it stays a string
(``"{{ trigger.size }}"`` gives ``"1000"``), except the exact form ``"{{name}}"``. Each top-level
parameter is then cast to its declared type (``cast_value``).
"""

import ast
import json
import re

import networkx as nx
from jinja2 import TemplateSyntaxError, meta

from workspaces_devkit.st2jinja import (NONE_MAGIC_VALUE, datastore_context,
                                        is_jinja_expression, jinja_environment)

__all__ = ["ParamError", "cast_value", "render_live_params", "render_final_params"]

ENV = jinja_environment()
#: ``"{{name}}"`` inside the JSON text of a list/dict parameter (param.py ``_render``).
_BARE_NAME_IN_JSON_RE = re.compile(r'"{{([A-z0-9_-]+)}}"')


class ParamError(ValueError):
    """A parameter could not be rendered or cast; the message is StackStorm's."""


# --- casts (st2common/util/casts.py) -------------------------------------------------------------

def _none_marker_to_none(value):
    return None if isinstance(value, str) and value == NONE_MAGIC_VALUE else value


def _cast_object(value):
    value = _none_marker_to_none(value)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return ast.literal_eval(value)
    return value


def _cast_boolean(value):
    value = _none_marker_to_none(value)
    if isinstance(value, str):
        return ast.literal_eval(value.capitalize())
    return value


def _cast_string(value):
    if value is None:
        return value
    if not isinstance(value, str):
        raise ValueError('Value "%s" must either be a string or None. Got "%s".'
                         % (value, type(value).__name__))
    return _none_marker_to_none(value)


CASTS = {"array": _cast_object, "object": _cast_object, "boolean": _cast_boolean,
         "integer": lambda value: int(_none_marker_to_none(value)),
         "number": lambda value: float(_none_marker_to_none(value)), "string": _cast_string}


def cast_value(value, schema):
    """Cast one top-level parameter value to the type its ``schema`` declares (param.py ``_cast``);
    a value that cannot be cast raises the cast's own error (ValueError, SyntaxError)."""
    if value is None or not schema:
        return value
    kind = schema.get("type")
    cast = CASTS.get(kind) if isinstance(kind, str) else None
    return cast(value) if cast else value


# --- the dependency graph (param.py _create_graph, _process, _validate, _resolve), networkx's ----

def _create_graph(values, action_context, config, kv_get):
    """The graph of ``values`` (the contexts, or parameters taken as they are) and the
    ``st2kv``, ``action_context`` and ``config_context`` nodes."""
    graph = nx.DiGraph()
    graph.add_node("st2kv", value=datastore_context(kv_get))
    graph.add_node("action_context", value=action_context)
    graph.add_node("config_context", value=config or {})
    for name, value in values.items():
        graph.add_node(name, value=value)
    return graph


def _process(graph, name, value):
    """Add ``name`` as a template (with edges to the variables it uses) or as a plain value."""
    as_text = str(value) if isinstance(value, (list, dict)) else value
    if not is_jinja_expression(as_text):
        graph.add_node(name, value=value)
        return
    try:
        tree = ENV.parse(as_text)
    except TemplateSyntaxError:
        graph.add_node(name, value=value)  # not Jinja after all
        return
    graph.add_node(name, template=value)
    for dependency in meta.find_undeclared_variables(tree):
        graph.add_edge(dependency, name)


def _process_defaults(graph, schemas):
    for schema in schemas:
        for name, spec in schema.items():
            spec = spec or {}
            absent = name not in graph.nodes
            is_none = graph.nodes.get(name, {}).get("value") is None
            if absent or is_none or spec.get("immutable", False):
                _process(graph, name, spec.get("default"))


def _render_node(node, context):
    if "template" not in node:
        return node.get("value")
    template = node["template"]
    if isinstance(template, (list, dict)):
        text = json.dumps(template, separators=(",", ":"), ensure_ascii=False)
        text = _BARE_NAME_IN_JSON_RE.sub(r"{{\1 | to_complex}}", text)
        return json.loads(ENV.from_string(text).render(context))
    return ENV.from_string(str(template)).render(context)


def _resolve(graph, schemas):
    """Render every node in dependency order, defaults from ``schemas`` filled in first."""
    _process_defaults(graph, schemas)
    for name, node in graph.nodes.items():
        if "value" not in node and "template" not in node:
            raise ParamError('Dependency unsatisfied in variable "%s"' % name)
    if not nx.is_directed_acyclic_graph(graph):
        raise ParamError("Cyclic dependency found in the following variables: %s. Likely the "
                         "variable is referencing itself" % ", ".join(sorted(
                             cycle[0] for cycle in nx.simple_cycles(graph) if cycle)))
    context = {}
    for name in nx.topological_sort(graph):
        try:
            context[name] = _render_node(graph.nodes[name], context)
        except Exception as error:  # StackStorm wraps every rendering error the same way
            raise ParamError('Failed to render parameter "%s": %s' % (name, error))
    return context


def _schema_of(name, schemas):
    """The schema of ``name`` in the last of ``schemas`` that has it (``{}`` when none does)."""
    return next((schema[name] or {} for schema in reversed(schemas) if name in schema), {})


def _cast_all(names, context, schemas):
    result = {}
    for name in names:
        try:
            result[name] = cast_value(context[name], _schema_of(name, schemas))
        except (ValueError, SyntaxError, TypeError) as error:
            raise ParamError('Failed to cast parameter "%s" (value %r): %s'
                             % (name, context[name], error))
    return result


def _templated_defaults(params, context, schemas):
    """Parameters left to a default that is a Jinja template (rendered into the live set)."""
    return [name for schema in schemas for name, spec in schema.items()
            if spec and "default" in spec and not spec.get("immutable") and name not in params and
            spec["default"] != context[name] and is_jinja_expression(spec["default"])]


def render_live_params(runner_parameters, action_parameters, params, action_context,
                       additional_contexts=None, config=None, kv_get=None):
    """Render a rule's parameters as the rules engine does (``additional_contexts``: ``{"trigger":
    payload}``); return those given and those left to a templated default, cast. Raises
    ParamError."""
    graph = _create_graph(additional_contexts or {}, action_context, config, kv_get)
    for name, value in params.items():
        _process(graph, name, value)
    schemas = [action_parameters, runner_parameters]
    context = _resolve(graph, schemas)
    names = list(params) + _templated_defaults(params, context, schemas)
    return _cast_all(names, context, schemas)


def render_final_params(runner_parameters, action_parameters, params, action_context,
                        config=None, kv_get=None):
    """Complete live parameters as the action runner does; return ``(runner, action)`` dicts.
    Given values are not rendered again; every other declared parameter gets its default or None."""
    schemas = [action_parameters, runner_parameters]
    context = _resolve(_create_graph(params, action_context, config, kv_get), schemas)
    final = _cast_all(list(context), context, schemas)
    runner = {k: v for k, v in final.items() if k in runner_parameters}
    action = {k: v for k, v in final.items()
              if k in action_parameters and k not in runner_parameters}
    return runner, action
