"""Print every rule a StackStorm API holds, as JSON, using st2client the way the st2 CLI does.

Run by ``st2_rules.fetch_rules`` with the Python of ``.venv-st2cli``; it imports nothing from the
pack. Settings and credentials come from st2client's own sources in the CLI's order (these
options, ST2_* variables, the CLI config file and its token cache). Prints ``{"api_url": ...,
"rules": [...]}`` and exits 0, or ``{"error": "<one line>"}`` and exits 2; never a secret.
"""

import argparse
import contextlib
import io
import json
import logging
import os
import sys

PAGE = 100


def _without_userinfo(url):
    """``url`` without a ``user:password@`` part."""
    if url and "@" in url.split("//", 1)[-1].split("/", 1)[0]:
        scheme, _, rest = url.rpartition("//")
        return "%s//%s" % (scheme, rest.split("@", 1)[1])
    return url


def _options(argv):
    """The options given, in the namespace ``BaseCLIApp.get_client`` reads (the st2 CLI's)."""
    parser = argparse.ArgumentParser()
    for option in ("--config-file", "--base-url", "--api-url", "--auth-url"):
        parser.add_argument(option)
    parser.set_defaults(skip_config=False, stream_url=None, api_version=None, cacert=None,
                        basic_auth=None, token=None, api_key=None)
    return parser.parse_args(argv)


def _fetch(options, seen):
    """Return ``(api_url, rules)``; ``seen["api_url"]`` holds the URL as soon as it is known."""
    from st2client.base import BaseCLIApp
    from st2client.config import set_config

    app = BaseCLIApp()
    set_config(app._parse_config_file(args=options))  # as st2client's shell does first
    client = app.get_client(args=options)
    seen["api_url"] = client.endpoints.get("api")
    rules, offset = [], 0
    while True:
        page = client.rules.get_all(limit=PAGE, offset=offset)
        rules.extend(rule.serialize() for rule in page)
        if len(page) < PAGE:
            return client.endpoints.get("api"), rules
        offset += PAGE


def _error_text(error, api_url):
    import requests

    where = "the StackStorm API at %s" % _without_userinfo(api_url or "(default URL)")
    if isinstance(error, requests.exceptions.ConnectionError):
        return "cannot reach %s (connection failed)" % where
    if isinstance(error, requests.exceptions.Timeout):
        return "%s did not answer in time" % where
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    if status == 401:
        return ("%s refused the credentials (401 Unauthorized): log in with `st2 login`, or set "
                "ST2_AUTH_TOKEN or ST2_API_KEY, or fix [credentials] in the st2 CLI config" % where)
    if status == 403:
        return "%s refused to list rules (403 Forbidden): the user needs rule_list" % where
    if status is not None:
        return "%s answered %s to GET /rules" % (where, status)
    if isinstance(error, ValueError) and str(error).startswith("Config "):
        return "st2 CLI config: %s" % error  # 'Config "<path>" not found'
    return "st2client failed: %s" % type(error).__name__


def main(argv=None):
    """Fetch and print the rules; see the module docstring."""
    options = _options(argv)
    logging.disable(logging.CRITICAL)  # st2client logs failures with tracebacks
    seen = {"api_url": options.api_url or os.environ.get("ST2_API_URL")}
    chatter = io.StringIO()  # st2client prints, e.g. "Failed to authenticate with credentials..."
    try:
        import st2client  # noqa: F401
    except ImportError:
        json.dump({"error": "st2client is not importable by %s" % sys.executable}, sys.stdout)
        return 2
    try:
        with contextlib.redirect_stdout(chatter):
            api_url, rules = _fetch(options, seen)
    except Exception as error:  # one line for the operator, never a traceback or a secret
        json.dump({"error": _error_text(error, seen["api_url"])}, sys.stdout)
        return 2
    json.dump({"api_url": _without_userinfo(api_url), "rules": rules}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
