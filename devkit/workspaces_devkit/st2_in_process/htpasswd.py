"""Write htpasswd entries that ``st2-auth-backend-flat-file`` accepts (bcrypt, ``$2y$`` form).

The backend recognises bcrypt hashes only by the ``$2y$`` prefix Apache's ``htpasswd -B`` writes;
the ``bcrypt`` module writes ``$2b$`` (the same algorithm), so the prefix is rewritten.
"""

import os

__all__ = ["add_user", "hash_password"]


def hash_password(password, rounds=10):
    """Return an htpasswd bcrypt hash (``$2y$...``) of ``password``."""
    import bcrypt  # installed with st2-auth-backend-flat-file

    hashed = bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=rounds)).decode("ascii")
    return "$2y$" + hashed[4:]


def add_user(path, username, password, rounds=10):
    """Add ``username`` to the htpasswd file at ``path`` (created if missing), or replace it.

    Comment lines and other users are kept. The file is written with mode 0600.
    """
    if not username or ":" in username:
        raise ValueError("user name must be non-empty and contain no ':': %r" % (username,))
    lines = []
    if os.path.exists(path):
        with open(path) as handle:
            lines = [line.rstrip("\n") for line in handle]
    entry = "%s:%s" % (username, hash_password(password, rounds=rounds))
    kept = [line for line in lines if line.split(":", 1)[0] != username or line.startswith("#")]
    kept.append(entry)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(kept) + "\n")
