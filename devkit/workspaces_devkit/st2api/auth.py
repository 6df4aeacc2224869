"""Who may use the API: passwords from an htpasswd file, and expiring access tokens.

Passwords are checked by ``st2auth_flat_file_backend.FlatFileAuthenticationBackend`` (PyPI
``st2-auth-backend-flat-file``), the backend StackStorm's standalone auth uses; it re-reads the file
on every login, so users added while the service runs can log in. Tokens behave like st2auth's:
a default and maximum TTL (``[auth] token_ttl``, 86400 s), ``TTL specified X is greater than max
allowed Y.`` for a larger request, and the 401 answers StackStorm's router gives for a missing,
unknown or expired token.
"""

import base64
import binascii
import datetime
import logging
import os
import threading
import time
import uuid
import warnings

from workspaces_devkit.st2api.errors import ApiError, bad_request, unauthorized

__all__ = ["PasswordChecker", "TokenStore", "parse_basic_auth", "format_isotime",
           "DEFAULT_TOKEN_TTL", "new_object_id"]

LOG = logging.getLogger(__name__)

#: StackStorm's default (and maximum) token TTL, ``[auth] token_ttl``.
DEFAULT_TOKEN_TTL = 86400
INVALID_CREDENTIALS = "Invalid or missing credentials"


def format_isotime(timestamp):
    """Format a UNIX timestamp as StackStorm does (``isotime.format(dt, offset=False)``)."""
    moment = datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def new_object_id(clock=time.time):
    """Return a 24-hex-digit id shaped like a MongoDB ObjectId (time first, so ids sort by age)."""
    return "%08x%s" % (int(clock()), uuid.uuid4().hex[:16])


def _flat_file_backend_class():
    # The backend imports the stdlib ``crypt`` module (deprecated since 3.11, gone in 3.13).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            from st2auth_flat_file_backend.flat_file import FlatFileAuthenticationBackend
        except ImportError as error:
            raise RuntimeError(
                "the st2 API needs the PyPI package st2-auth-backend-flat-file (%s); "
                "devkit/bin/setup installs it into .venv: run `. .venv/bin/activate` first, or "
                "`.venv/bin/python devkit/bin/workspaces-local api ...`" % error)
    return FlatFileAuthenticationBackend


class PasswordChecker(object):
    """Checks user names and passwords in an htpasswd file with StackStorm's flat-file backend."""

    def __init__(self, htpasswd_path):
        if not os.path.isfile(htpasswd_path):
            raise ValueError("htpasswd file %s does not exist" % htpasswd_path)
        self.htpasswd_path = htpasswd_path
        self._backend = _flat_file_backend_class()(htpasswd_path)

    def check(self, username, password):
        """Return True when ``password`` is right for ``username``, else False.

        A password the backend cannot check (bcrypt refuses more than 72 bytes) and an htpasswd
        file that became unreadable count as a wrong password (logged), as st2auth answers 401.
        """
        try:
            return bool(self._backend.authenticate(username, password))
        except ValueError as error:
            LOG.info("password of %r not checkable: %s", username, error)
        except OSError as error:
            LOG.error("htpasswd file %s unreadable: %s", self.htpasswd_path, error)
        return False


def parse_basic_auth(header):
    """Return ``(username, password)`` from an ``Authorization: Basic ...`` header.

    Raises the 401 st2auth answers (``Invalid or missing credentials``) when the header is missing
    or malformed.
    """
    if not header:
        raise ApiError(401, INVALID_CREDENTIALS)
    kind, _, value = header.partition(" ")
    if kind.lower() != "basic":
        raise ApiError(401, INVALID_CREDENTIALS)
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise ApiError(401, INVALID_CREDENTIALS)
    if ":" not in decoded:
        raise ApiError(401, INVALID_CREDENTIALS)
    username, password = decoded.split(":", 1)
    return username, password


class TokenStore(object):
    """Issues and checks access tokens (in memory; a restart logs everyone out, as a wiped DB)."""

    def __init__(self, ttl=DEFAULT_TOKEN_TTL, clock=time.time):
        if ttl <= 0:
            raise ValueError("token ttl must be a positive number of seconds")
        self.ttl = ttl
        self._clock = clock
        self.clock = clock
        self._tokens = {}
        self._lock = threading.Lock()

    def create(self, username, ttl=None):
        """Create a token for ``username``; return StackStorm's Token document.

        ``ttl`` above the configured maximum is refused with st2auth's 400 message.
        """
        if ttl is not None and not isinstance(ttl, bool) and isinstance(ttl, (int, float)) \
                and ttl > 0:
            if ttl > self.ttl:
                raise bad_request("TTL specified %s is greater than max allowed %s."
                                  % (ttl, self.ttl))
        else:
            ttl = self.ttl
        now = self._clock()
        expiry = now + ttl
        doc = {"id": new_object_id(self._clock), "user": username, "token": uuid.uuid4().hex,
               "expiry": format_isotime(expiry), "metadata": {}}
        with self._lock:
            for token in [t for t, (_, until) in self._tokens.items() if until <= now]:
                del self._tokens[token]  # expired tokens are forgotten, so memory stays bounded
            self._tokens[doc["token"]] = (dict(doc), expiry)
        return doc

    def validate(self, token):
        """Return ``(token document, expiry timestamp)`` for a valid token.

        Raises 401 ``Unauthorized`` for an unknown token and ``Unauthorized - Token has expired.``
        for an expired one, as StackStorm's router does.
        """
        with self._lock:
            item = self._tokens.get(token)
            if item is None:
                raise unauthorized()
            doc, expiry = item
            if expiry <= self._clock():
                raise unauthorized("Token has expired.")
            return dict(doc), expiry
