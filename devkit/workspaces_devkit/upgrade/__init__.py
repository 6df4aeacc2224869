"""``workspaces-local upgrade-check``: will the site's rules still work with this pack?
(docs/UPGRADING.md; ``cli`` puts ``rule_check`` and ``st2_rules`` together)."""
