"""Keeping secrets out of what the pack shows: records, payloads, reports, logs.

- ``scrub_line`` / ``scrub_parameters`` know nothing of the config (health records,
  ``sensor_problem`` payloads): any URL becomes ``<url>``, a ``user:password@`` part ``<user>@``,
  a ``password=...`` value ``***``, a parameter whose name holds password/secret/token/url ``***``;
- ``Scrubber(config)`` hides the configured values themselves (preflight and status reports): every
  configured URL and secret, the user, and each configured URL's parts. A Workspaces URL that
  ``core.urls.url_problem`` refuses is not hidden: its messages show it, password masked.
"""

import re
from urllib.parse import unquote

from workspaces_pack.core.urls import HTTP_URL_KEYS, url_problem

__all__ = ["URL_KEYS", "scrub_line", "scrub_parameters", "url_parts", "Scrubber"]

MASK = "***"
HIDDEN = "<hidden>"
MAX_LINE = 300
URL_KEYS = HTTP_URL_KEYS + ("alma_archive_db_url", "archive_metadata_db_url")
"""The pack config keys that hold URLs (a database URL may hold a password)."""

_SECRET_NAME = re.compile(r"password|secret|token|url", re.IGNORECASE)
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://\S+")
_USER_AT = re.compile(r"\b[^\s:@/'\"]+(:[^\s@/'\"]*)?@(?=[A-Za-z0-9\[])")
_SECRET_VALUE = re.compile(r"(?i)\b(password|passwd|pwd|secret|token|user(?:name)?)"
                           r"(\s*[=:]\s*|\s+)(['\"]?)[^\s'\",;)]+\3")
_URL_PARTS = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://(?:([^:@/]*)(?::([^@/]*))?@)?([^:/?#]*)"
                        r"(?::(\d+))?(?:/([^?#]*))?")


def scrub_line(text, limit=MAX_LINE):
    """One line of ``text`` without URLs, ``user:password@`` parts or ``password=...`` values."""
    if text is None:
        return None
    line = " ".join(str(text).split())
    line = _URL.sub("<url>", line)
    line = _USER_AT.sub("<user>@", line)
    line = _SECRET_VALUE.sub(r"\1\2" + MASK, line)
    if limit is not None and len(line) > limit:
        line = line[:limit - 3] + "..."
    return line


def scrub_parameters(parameters):
    """A copy of trigger ``parameters`` with secret-looking keys' values replaced by ``***``."""
    if isinstance(parameters, dict):
        return dict((key, MASK if _SECRET_NAME.search(str(key)) else scrub_parameters(value))
                    for key, value in parameters.items())
    if isinstance(parameters, list):
        return [scrub_parameters(value) for value in parameters]
    if isinstance(parameters, str):
        return scrub_line(parameters, limit=None) if ("://" in parameters or
                                                      "@" in parameters) else parameters
    return parameters


def url_parts(url):
    """The user, password, host, port and database (path) of a URL, those present, as text."""
    match = _URL_PARTS.match(str(url))
    if not match:
        return []
    parts = [part for part in match.groups() if part]
    return parts + [unquote(part) for part in parts if unquote(part) != part]


class Scrubber(object):
    """Hides the configured URLs, secrets and URL parts of ``config`` (a ``PackConfig``)."""

    def __init__(self, config):
        whole = set(config.secrets())
        words = set()
        for key in URL_KEYS:
            value = config.get(key)
            if not value or (key in HTTP_URL_KEYS and url_problem(value)):
                continue  # a wrong URL is shown, its password masked, so it can be fixed
            whole.update((str(value), str(value).rstrip("/")))
            words.update(url_parts(value))
        words.add(str(config.get("auth_username") or ""))  # "" (unset) is dropped below
        self._whole = sorted((text for text in whole if text), key=len, reverse=True)
        self._words = [re.compile(r"(?<![\w.-])%s(?![\w-])" % re.escape(word))
                       for word in sorted(words, key=len, reverse=True) if len(word) >= 2]

    def scrub(self, text):
        """Return ``text`` with every configured URL, secret, user, host and database hidden."""
        text = str(text or "")
        for value in self._whole:
            text = text.replace(value, HIDDEN)
        for pattern in self._words:
            text = pattern.sub(HIDDEN, text)
        return text
