"""One origin for st2api, st2auth, st2stream and st2web, routed as st2web's nginx site routes it.

``/api/<rest>``, ``/auth/<rest>`` and ``/stream/<rest>`` go to st2api, st2auth and st2stream with
the prefix stripped (``/api/stream`` and ``/api/v1/stream``, st2web's old stream paths, to
st2stream); the ``st2`` CLI's bare paths work too, so one address serves ``ST2_API_URL``,
``ST2_AUTH_URL`` (``/auth``) and ``ST2_STREAM_URL`` (``/stream/v1``). A rule of the pack that the
API creates, updates or deletes is written to (or removed from) the rules folder.
"""

import json
import re

__all__ = ["Origin", "route"]

_PREFIXED = re.compile(r"^/(api|auth|stream)(/.*)?$", re.DOTALL)
_OLD_STREAM = re.compile(r"^/api(/v1)?/stream/?$")
_BARE_AUTH = re.compile(r"^(/v1)?/(tokens|sso)(/|$)")
_RULE_PATH = re.compile(r"^(?:/v1)?/rules(?:/(?P<ref>[^/]+))?/?$")


def route(path):
    """``(service, path as the service sees it)`` of a request path (the web UI's own files are
    looked for first, by ``Origin``)."""
    if _OLD_STREAM.match(path):
        return "stream", "/v1/stream"
    prefixed = _PREFIXED.match(path)
    if prefixed:
        return prefixed.group(1), prefixed.group(2) or "/"
    if _BARE_AUTH.match(path):
        return "auth", path
    if path.startswith("/v1/stream") or path == "/stream":
        return "stream", path
    return "api", path


class Origin(object):
    """The WSGI application of the one origin of ``engine`` (a ``StackStormInProcess``)."""

    def __init__(self, engine, webui_dir=None):
        import st2api.app
        import st2auth.app
        import st2stream.app

        self.engine = engine
        self.apps = {"api": st2api.app.setup_app({}), "auth": st2auth.app.setup_app({}),
                     "stream": st2stream.app.setup_app({})}
        self.webui = None
        if webui_dir:
            from workspaces_devkit.st2_in_process.webui import WebUi

            self.webui = WebUi(webui_dir, name="workspaces-local (pack %s)" % engine.pack_ref)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO") or "/"
        service, service_path = route(path)
        if self.webui is not None and not _PREFIXED.match(path) and not path.startswith("/v1"):
            answer = self.webui(environ, start_response)
            if answer is not None:
                return answer
        environ["PATH_INFO"] = service_path  # the server's own dict: StackStorm's streaming
        # middleware sets eventlet.minimum_write_chunk_size in it (each event sent as it comes)
        rule = _RULE_PATH.match(service_path) if service == "api" else None
        if rule and environ["REQUEST_METHOD"] in ("POST", "PUT", "DELETE"):
            return self._rule_change(environ, start_response, rule.group("ref"))
        return self.apps[service](environ, start_response)

    def _rule_change(self, environ, start_response, ref):
        """Let st2api change the rule; on 2xx, write or remove its file."""
        from workspaces_devkit.st2_in_process import rule_files

        before = _rule_of(ref) if ref else None
        answered = {}

        def remember(status, headers, exc_info=None):
            answered["status"] = int(status.split()[0])
            return start_response(status, headers, exc_info)

        body = b"".join(self.apps["api"](environ, remember))
        if 200 <= answered.get("status", 500) < 300:
            folder = self.engine.rules_dir
            if environ["REQUEST_METHOD"] == "DELETE":
                if before is not None and before.pack == self.engine.pack_ref:
                    rule_files.delete_rule(folder, before.name)
            else:
                rule = json.loads(body.decode("utf-8"))
                if rule.get("pack") == self.engine.pack_ref:
                    if before is not None and before.name != rule["name"]:
                        rule_files.delete_rule(folder, before.name)
                    rule_files.write_rule(folder, rule)
                for listener in self.engine.rule_listeners:
                    listener(rule)
        return [body]


def _rule_of(ref_or_id):
    """The stored rule of a ref or an id, or None."""
    from st2common.persistence.rule import Rule

    try:
        return Rule.get_by_ref(ref_or_id) if "." in ref_or_id else Rule.get_by_id(ref_or_id)
    except Exception:  # no such rule: StackStorm answers 404
        return None
