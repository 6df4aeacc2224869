"""``workspaces-local upgrade-check``: will the site's rules still work with this pack?

``rule_check`` checks one rule (an st2 API document or a rule file) against the working tree's
contract; ``st2_rules`` fetches the rules a StackStorm holds through st2client (run in its own
virtualenv by ``st2_fetch_rules``); ``cli`` puts them together (docs/UPGRADING.md).
"""
