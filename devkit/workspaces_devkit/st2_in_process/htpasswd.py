"""Write htpasswd entries that ``st2-auth-backend-flat-file`` accepts (bcrypt, ``$2y$`` form).

The backend recognises bcrypt hashes only by the ``$2y$`` prefix Apache's ``htpasswd -B`` writes;
the ``bcrypt`` module writes ``$2b$`` (the same algorithm), so the prefix is rewritten.
"""

import os

import bcrypt  # installed with st2-auth-backend-flat-file

__all__ = ["add_user"]


def add_user(path, username, password, rounds=10):
    """Add ``username`` to the htpasswd file at ``path`` (created if missing, mode 0600), or
    replace it; comment lines and other users are kept."""
    if not username or ":" in username:
        raise ValueError("user name must be non-empty and contain no ':': %r" % (username,))
    kept = []
    if os.path.exists(path):  # comment lines and the other users
        with open(path) as handle:
            kept = [line.rstrip("\n") for line in handle
                    if line.split(":", 1)[0] != username or line.startswith("#")]
    hashed = bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=rounds)).decode("ascii")
    kept.append("%s:$2y$%s" % (username, hashed[4:]))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(kept) + "\n")
