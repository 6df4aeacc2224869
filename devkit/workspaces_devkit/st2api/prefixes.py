"""The URL prefixes st2web uses on its own origin, mapped as StackStorm's nginx config maps them.

st2web calls ``/auth/...``, ``/api/...`` and ``/stream/...`` on the origin it was loaded from.
StackStorm's nginx site (``conf/nginx/st2.conf``) strips the prefix and hands the rest to st2auth,
st2api or st2stream, which accept their paths with or without ``/v1``; two old paths
(``/api/stream`` and ``/api/v1/stream``) are rewritten to the stream service first.

``upstream_path(path)`` gives the path in the one form the local router reads without doubt about
the service: ``/auth/v1/<rest>``, ``/api/v1/<rest>`` or ``/stream/v1/<rest>``
(``/stream/executions/<id>/output`` is the stream service's, ``/api/v1/executions/<id>/output``
the API's). A path with none of the three prefixes (the ``st2`` CLI's ``/tokens``,
``/v1/actions`` on StackStorm's ports) is returned unchanged.
"""

import re

__all__ = ["SERVICES", "upstream_path", "service_of"]

#: The prefixes st2web's nginx config proxies, each to one StackStorm service.
SERVICES = ("api", "auth", "stream")

_OLD_STREAM_PATH = re.compile(r"^/api(?:/(?P<version>v\d+))?/stream/?$")
_PREFIXED = re.compile(r"^/(?P<service>api|auth|stream)/(?P<rest>.*)$", re.DOTALL)
_VERSION = re.compile(r"^v\d+(?:/|$)")


def upstream_path(path):
    """Return ``path`` as the service behind st2web's nginx sees it, service prefix kept.

    ``/auth/tokens`` -> ``/auth/v1/tokens``; ``/api/v1/rules/views`` ->
    ``/api/v1/rules/views``; ``/api/actions`` -> ``/api/v1/actions``; ``/stream/stream`` and
    ``/api/v1/stream`` -> ``/stream/v1/stream``; ``/v1/actions`` and ``/tokens`` unchanged.
    """
    old_stream = _OLD_STREAM_PATH.match(path)
    if old_stream:
        return "/stream/%s/stream" % (old_stream.group("version") or "v1")
    prefixed = _PREFIXED.match(path)
    if not prefixed:
        return path
    rest = prefixed.group("rest")
    if not _VERSION.match(rest):
        rest = "v1/" + rest
    return "/%s/%s" % (prefixed.group("service"), rest)


def service_of(path):
    """Return ``"api"``, ``"auth"`` or ``"stream"`` for a path st2web's nginx proxies, else None.

    None means the path is the web UI's own (a static file), or a bare service path.
    """
    if _OLD_STREAM_PATH.match(path):
        return "stream"
    prefixed = _PREFIXED.match(path)
    return prefixed.group("service") if prefixed else None
