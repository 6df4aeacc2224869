"""URL -> handler for the part of StackStorm's auth and API routes the ``st2`` CLI uses.

Paths are accepted the ways StackStorm's services accept them: behind nginx (``/auth/v1/tokens``,
``/api/v1/actions``) and directly (st2auth: ``/tokens``, ``/v1/tokens``; st2api: ``/v1/actions``,
``/actions``), with or without a trailing slash. Every route but token creation needs a valid
``X-Auth-Token`` header (or ``x-auth-token`` query parameter, or the ``auth-token`` cookie), as
StackStorm's router requires; a request authenticated by header or query parameter gets the
``auth-token`` cookie back (as StackStorm's router sets it), and so does a login, so that st2web's
``EventSource`` on ``/stream`` (which sends no header) is authenticated in a fresh browser. The
routes st2web needs beyond the CLI's are in ``views``.
"""

import re
from http.cookies import SimpleCookie

from workspaces_devkit.st2api import shapes
from workspaces_devkit.st2api.auth import format_isotime, parse_basic_auth
from workspaces_devkit.st2api.errors import ApiError, bad_request, not_found, unauthorized
from workspaces_devkit.st2api.views import UiRoutes, execution_filter

__all__ = ["Request", "Response", "Router"]

_PREFIXES = ("/auth/v1", "/api/v1", "/stream/v1", "/v1")
_COOKIE = "auth-token"
#: Fields StackStorm always returns with ``?include_attributes=`` (its controllers'
#: ``mandatory_include_fields_*``): a pack's content, and executions.
CONTENT_FIELDS = ("pack", "name", "ref")
EXECUTION_FIELDS = ("action.parameters", "action.output_schema", "runner.runner_parameters",
                    "runner.output_key", "parameters", "action.pack", "action.uid", "context")
_SYSTEM_SCOPES = ("system", shapes.SYSTEM_SCOPE)


class Request(object):
    """An incoming request: method, path, query (name -> last value), headers, JSON body."""

    def __init__(self, method, path, query=None, headers=None, body=None):
        self.method = method.upper()
        self.path = path
        self.query = dict(query or {})
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}
        self.body = body
        self.user = None
        self.token_expiry = None
        self.set_cookie = None

    def cookie(self, name):
        """Return the value of cookie ``name`` sent with the request, or None."""
        jar = SimpleCookie()
        try:
            jar.load(self.headers.get("cookie") or "")
        except Exception:  # a malformed Cookie header counts as no cookie
            return None
        return jar[name].value if name in jar else None


class Response(object):
    """An answer: status, JSON-able body (None for no body) and extra headers."""

    def __init__(self, status, body=None, headers=None):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def _route_path(path):
    path = "/" + path.strip("/")
    for prefix in _PREFIXES:
        if path == prefix or path.startswith(prefix + "/"):
            return path[len(prefix):] or "/"
    return path


def _int_param(query, name, default=None):
    value = query.get(name)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or (name == "offset" and number < 0):
        raise bad_request("Invalid value for %s: %r (an integer is expected)" % (name, value))
    return number


def _names(query, name):
    value = query.get(name)
    return [part for part in value.split(",") if part] if value else None


def included(query, mandatory=()):
    """``?include_attributes=`` plus the ``mandatory`` fields whose top level is not asked."""
    include = _names(query, "include_attributes")
    if not include:
        return include
    return include + [field for field in mandatory
                      if field.split(".")[0] not in include and field not in include]


class Router(object):
    """Dispatches requests to handlers over a ``LocalBackend``, token store and password check."""

    def __init__(self, backend, tokens, passwords):
        self.backend = backend
        self.tokens = tokens
        self.passwords = passwords
        self.ui = UiRoutes(self)
        self._routes = self.ui.routes() + [
            ("POST", r"/tokens", self.create_token, False),
            ("GET", r"/user", self.get_user, True),
            ("GET", r"/actions", self.list_actions, True),
            ("GET", r"/actions/(?P<ref>[^/]+)", self.get_action, True),
            ("GET", r"/runnertypes", self.list_runners, True),
            ("GET", r"/runnertypes/(?P<name>[^/]+)", self.get_runner, True),
            ("GET", r"/triggertypes", self.list_trigger_types, True),
            ("GET", r"/triggertypes/(?P<ref>[^/]+)", self.get_trigger_type, True),
            ("GET", r"/rules", self.list_rules, True),
            ("GET", r"/rules/(?P<ref>[^/]+)", self.get_rule, True),
            ("GET", r"/executions", self.list_executions, True),
            ("POST", r"/executions", self.create_execution, True),
            ("GET", r"/executions/(?P<execution_id>[^/]+)", self.get_execution, True),
            ("GET", r"/executions/(?P<execution_id>[^/]+)/children", self.get_children, True),
            ("GET", r"/keys", self.list_keys, True),
            ("GET", r"/keys/(?P<name>[^/]+)", self.get_key, True),
            ("PUT", r"/keys/(?P<name>[^/]+)", self.set_key, True),
            ("DELETE", r"/keys/(?P<name>[^/]+)", self.delete_key, True),
        ]
        self._routes = [(m, re.compile("^%s$" % p), h, a) for m, p, h, a in self._routes]

    # --- dispatch ----------------------------------------------------------------------------
    def handle(self, request):
        """Return the ``Response`` for ``request`` (errors become StackStorm's error answers)."""
        try:
            response = self._dispatch(request)
        except ApiError as error:
            response = Response(error.status, error.body())
        if request.set_cookie:
            token, expiry = request.set_cookie
            max_age = max(0, int(expiry - self.tokens.clock()))
            response.headers["Set-Cookie"] = "%s=%s; Max-Age=%d; HttpOnly; Path=/; SameSite=Lax" % (
                _COOKIE, token, max_age)
        return response

    def close(self):
        """End open streams (the server is stopping)."""
        self.backend.events.close()

    def _dispatch(self, request):
        path = _route_path(request.path)
        allowed = False
        for method, pattern, handler, needs_auth in self._routes:
            match = pattern.match(path)
            if not match:
                continue
            allowed = True
            if method != request.method:
                continue
            if needs_auth:
                self._authenticate(request)
            return handler(request, **match.groupdict())
        if allowed:
            raise ApiError(405, "The server could not comply with the request since it is either "
                                "malformed or otherwise incorrect.")
        raise not_found()

    def _authenticate(self, request):
        token = request.headers.get("x-auth-token") or request.query.get("x-auth-token")
        from_cookie = False
        if not token and not request.headers.get("st2-api-key"):
            token = request.cookie(_COOKIE)
            from_cookie = bool(token)
        api_key = request.headers.get("st2-api-key") or request.query.get("st2-api-key")
        if token and api_key:
            raise unauthorized("Only one of Token or API key expected.")
        if api_key:
            raise unauthorized("API keys are not supported by the local runner; use st2 login.")
        if not token:
            raise unauthorized("One of Token or API key required.")
        doc, expiry = self.tokens.validate(token)
        request.user = doc["user"]
        request.token_expiry = expiry
        if not from_cookie:
            request.set_cookie = (token, expiry)

    @staticmethod
    def response(status, body, headers=None):
        """Return a ``Response`` (for handlers outside this module)."""
        return Response(status, body, headers)

    @staticmethod
    def listing(docs, request, filters=(), mandatory=CONTENT_FIELDS):
        """Filter, page and project a list of documents, with ``X-Total-Count``."""
        for field in filters:
            value = request.query.get(field)
            if value is not None:
                docs = [doc for doc in docs if doc.get(field) == value]
        total = len(docs)
        offset = _int_param(request.query, "offset", 0)
        limit = _int_param(request.query, "limit", None)
        docs = docs[offset:]
        if limit is not None and limit >= 0:
            docs = docs[:limit]
        include = included(request.query, mandatory)
        exclude = _names(request.query, "exclude_attributes")
        docs = [shapes.select_attributes(doc, include, exclude) for doc in docs]
        headers = {"X-Total-Count": str(total)}
        if limit is not None:
            headers["X-Limit"] = str(limit)
        return Response(200, docs, headers)

    _listing = listing

    @staticmethod
    def one(doc, ref, request, mandatory=CONTENT_FIELDS):
        """Answer one document (404 when None), projected by ``include/exclude_attributes``."""
        if doc is None:
            raise not_found('Resource with a reference or id "%s" not found' % ref)
        include = included(request.query, mandatory)
        exclude = _names(request.query, "exclude_attributes")
        return Response(200, shapes.select_attributes(doc, include, exclude))

    _one = one

    # --- auth --------------------------------------------------------------------------------
    def create_token(self, request):
        """POST /auth/v1/tokens: basic auth -> 201 Token; 401 ``Invalid or missing credentials``."""
        username, password = parse_basic_auth(request.headers.get("authorization"))
        if not self.passwords.check(username, password):
            raise ApiError(401, "Invalid or missing credentials")
        body = request.body if isinstance(request.body, dict) else {}
        token = self.tokens.create(username, ttl=body.get("ttl"))
        request.set_cookie = (token["token"], self.tokens.validate(token["token"])[1])
        return Response(201, token)

    def get_user(self, request):
        """GET /api/v1/user: who the token belongs to (``st2 whoami``)."""
        return Response(200, {
            "username": request.user,
            "authentication": {"method": "authentication token", "location": "header",
                               "token_expire": format_isotime(request.token_expiry)},
            "rbac": {"enabled": False, "roles": [], "is_admin": True},
        })

    # --- content -----------------------------------------------------------------------------
    def list_actions(self, request):
        """GET /api/v1/actions (``st2 action list``), filters ``pack`` and ``name``."""
        return self._listing(self.backend.list_actions(), request, ("pack", "name"))

    def get_action(self, request, ref):
        """GET /api/v1/actions/<ref or id> (``st2 action get``, ``st2 run``)."""
        return self._one(self.backend.get_action(ref), ref, request)

    def list_runners(self, request):
        """GET /api/v1/runnertypes (``st2 run`` looks its runner up with ``?name=``)."""
        return self._listing(self.backend.list_runners(), request, ("name",))

    def get_runner(self, request, name):
        """GET /api/v1/runnertypes/<name or id>."""
        return self._one(self.backend.get_runner(name), name, request)

    def list_trigger_types(self, request):
        """GET /api/v1/triggertypes (``st2 trigger list``)."""
        return self._listing(self.backend.list_trigger_types(), request, ("pack", "name"))

    def get_trigger_type(self, request, ref):
        """GET /api/v1/triggertypes/<ref or id> (``st2 trigger get``)."""
        doc = next((d for d in self.backend.list_trigger_types() if ref in (d["ref"], d["id"])),
                   None)
        return self._one(doc, ref, request)

    def list_rules(self, request):
        """GET /api/v1/rules (``st2 rule list``), filters pack, enabled, action, trigger."""
        docs = self.backend.list_rules()
        enabled = request.query.get("enabled")
        if enabled is not None:
            docs = [d for d in docs if d["enabled"] == (enabled.lower() in ("true", "1"))]
        if request.query.get("action"):
            docs = [d for d in docs if d["action"]["ref"] == request.query["action"]]
        if request.query.get("trigger"):
            docs = [d for d in docs if d["trigger"]["type"] == request.query["trigger"]]
        return self._listing(docs, request, ("pack", "name"))

    def get_rule(self, request, ref):
        """GET /api/v1/rules/<ref or id> (``st2 rule get``)."""
        return self._one(self.backend.get_rule(ref), ref, request)

    # --- executions --------------------------------------------------------------------------
    def create_execution(self, request):
        """POST /api/v1/executions (``st2 run``): 201 with the new execution, 400 if invalid."""
        body = request.body if isinstance(request.body, dict) else {}
        action_ref = body.get("action")
        if not action_ref:
            raise bad_request("'action' is a required property")
        parameters = body.get("parameters") or {}
        user = body.get("user") or request.user
        return Response(201, self.backend.execute(action_ref, parameters, user))

    def get_execution(self, request, execution_id):
        """GET /api/v1/executions/<id> (``st2 execution get``; ``st2 run`` polls it)."""
        record = self.backend.executions.get(execution_id)
        if record is None:
            raise not_found()
        return self._one(self.backend.execution_doc(record), execution_id, request,
                         EXECUTION_FIELDS)

    def get_children(self, request, execution_id):
        """GET /api/v1/executions/<id>/children: python actions have none."""
        if self.backend.executions.get(execution_id) is None:
            raise not_found()
        return Response(200, [])

    def list_executions(self, request):
        """GET /api/v1/executions (``st2 execution list``): newest first, ``X-Total-Count``."""
        query = request.query
        limit = _int_param(query, "limit", 100)
        offset = _int_param(query, "offset", 0)
        sort_asc = query.get("sort_asc", "").lower() in ("true", "1")
        docs = [self.backend.execution_doc(r) for r in self.backend.executions.all()]
        for name in sorted(query):
            accept = execution_filter(query, name)
            if accept is not None:
                docs = [doc for doc in docs if accept(doc)]
        if sort_asc:
            docs.reverse()
        total = len(docs)
        docs = docs[offset:offset + limit] if limit >= 0 else docs[offset:]
        include = included(query, EXECUTION_FIELDS)
        exclude = _names(query, "exclude_attributes")
        docs = [shapes.select_attributes(doc, include, exclude) for doc in docs]
        return Response(200, docs, {"X-Total-Count": str(total), "X-Limit": str(limit)})

    # --- key-value store ---------------------------------------------------------------------
    @staticmethod
    def _check_scope(scope, allow_all=False):
        if scope in (None, "") or scope in _SYSTEM_SCOPES or (allow_all and scope == "all"):
            return
        raise bad_request("Scope %s is not supported by the local runner's datastore "
                          "(system scope only)." % scope)

    def _key_docs(self, prefix=None):
        return [shapes.key_doc(kvp.name, kvp.value, getattr(kvp, "expire_timestamp", None))
                for kvp in self.backend.kv_store.list(prefix=prefix)]

    def list_keys(self, request):
        """GET /api/v1/keys (``st2 key list``), ``prefix``, ``scope`` system or all."""
        self._check_scope(request.query.get("scope"), allow_all=True)
        return self._listing(self._key_docs(request.query.get("prefix")), request, mandatory=())

    def get_key(self, request, name):
        """GET /api/v1/keys/<name> (``st2 key get``)."""
        self._check_scope(request.query.get("scope"))
        doc = next((d for d in self._key_docs(name) if d["name"] == name), None)
        if doc is None:
            raise not_found("KeyValuePair with name: %s and scope: %s not found in db."
                            % (name, shapes.SYSTEM_SCOPE))
        return Response(200, doc)

    def set_key(self, request, name):
        """PUT /api/v1/keys/<name> (``st2 key set``): store a string value, optional ``ttl``."""
        body = request.body if isinstance(request.body, dict) else {}
        self._check_scope(body.get("scope") or request.query.get("scope"))
        if body.get("secret") or body.get("encrypted"):
            raise bad_request("Encrypted values are not supported by the local runner's "
                              "datastore.")
        value = body.get("value")
        if not isinstance(value, str):
            raise bad_request("%r is not of type 'string'" % (value,))
        ttl = body.get("ttl")
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 1):
            raise bad_request("%r is not a valid ttl (a positive integer number of seconds)"
                              % (ttl,))
        self.backend.kv_store.set(name, value, ttl=ttl)
        return self.get_key(request, name)

    def delete_key(self, request, name):
        """DELETE /api/v1/keys/<name> (``st2 key delete``): 204, 404 when missing."""
        self._check_scope(request.query.get("scope"))
        try:
            self.backend.kv_store.delete(name)
        except KeyError:
            raise not_found("KeyValuePair with name: %s and scope: %s not found in db."
                            % (name, shapes.SYSTEM_SCOPE))
        return Response(204)
