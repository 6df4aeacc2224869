"""The one check of the pack's HTTP(S) URLs (the Workspaces services' config keys).

Used by the Workspaces client before any request, the preflight and ``workspaces-local``. A URL
must be ``http://`` or ``https://`` with a host (and a numeric port, if any); anything else is
refused with a message naming the config key and showing the value, its password masked.
"""

import re
from urllib.parse import urlsplit

__all__ = ["HTTP_URL_KEYS", "url_problem", "url_message", "url_problems", "mask_password"]

HTTP_URL_KEYS = ("capability_service_url", "workflow_service_url")
EXAMPLE = "https://workspaces.example.edu:3457"
_PASSWORD = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/@:]*:)[^/]*@")


def mask_password(url):
    """Return ``url`` with the password of its ``user:password@`` part shown as ``***``."""
    return _PASSWORD.sub(r"\1***@", str(url))


def url_problem(value):
    """Return what is wrong with ``value`` as an HTTP(S) base URL, in words; None if nothing."""
    if value is None:
        return "is not set"
    text = str(value).strip()
    if not text:
        return "is blank"
    if "://" not in text:
        return "has no scheme (http:// or https://)"
    try:
        parsed = urlsplit(text)
        parsed.port  # noqa: B018 (parses the port: ValueError when it is not a number)
    except ValueError as error:
        return "is not a valid URL (%s)" % error
    if parsed.scheme.lower() not in ("http", "https"):
        return "has the scheme %s:// where http:// or https:// is needed" % parsed.scheme
    if not parsed.hostname:
        return "has no host"
    if any(character.isspace() for character in text):
        return "contains a space"
    return None


def url_message(key, value, problem):
    """The one-line message of config key ``key`` whose ``value`` has ``problem``."""
    shown = "" if value is None else " (%r)" % mask_password(value)[:200]
    return ("pack config key %r%s %s: give an http:// or https:// URL with a host, e.g. %s "
            "(st2 pack config workspaces)" % (key, shown, problem, EXAMPLE))


def url_problems(config, keys=HTTP_URL_KEYS, unset_ok=False):
    """Return ``[(key, message)]`` for the URL keys of ``config`` (a dict or anything with
    ``get``) that are not valid HTTP(S) URLs; keys left unset are fine when ``unset_ok``."""
    found = []
    for key in keys:
        value = config.get(key)
        problem = url_problem(value)
        if problem and not (unset_ok and value is None):
            found.append((key, url_message(key, value, problem)))
    return found
