"""What the devkit's commands say when their command line cannot be carried out: one line.

``OneLineParser``'s errors name what to do instead of printing argparse's usage block;
``listening`` turns "address already in use" into ``PortInUse``, naming the flag that changes it.
"""

import argparse
import errno

__all__ = ["OneLineParser", "CommandLineError", "PortInUse", "listening", "USAGE_ERROR"]

#: Exit status of a command line that cannot be carried out as written (argparse's too).
USAGE_ERROR = 2


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line naming what to do (exit status 2); ``hints``
    maps an option (``"--payload"``) to a sentence added when that option is missing or wrong."""

    def __init__(self, *args, **kwargs):
        self.hints = kwargs.pop("hints", None) or {}
        argparse.ArgumentParser.__init__(self, *args, **kwargs)

    def error(self, message):
        """Print ``prog: message; what to do`` on stderr and exit with status 2."""
        self.exit(USAGE_ERROR, "%s: %s\n" % (self.prog, self.explain(message)))

    def explain(self, message):
        """Return ``message`` with the hint of the option it names, or a pointer to --help."""
        for option, hint in sorted(self.hints.items()):
            if option in message:
                return "%s: %s" % (message, hint)
        return "%s (`%s --help` lists what it takes)" % (message, self.prog)

    def fail(self, message):
        """Refuse the command line with ``message`` (one line, exit status 2)."""
        self.exit(USAGE_ERROR, "%s: %s\n" % (self.prog, message))


class CommandLineError(ValueError):
    """A value on the command line that cannot be used; the command refuses it with
    ``OneLineParser.fail`` (one line, exit status 2)."""


class PortInUse(OSError):
    """Another program listens on the port a command was asked to serve on."""

    def __init__(self, host, port, flag):
        OSError.__init__(self, errno.EADDRINUSE, "port %d on %s is already in use" % (port, host))
        self.host = host
        self.port = port
        self.flag = flag

    def __str__(self):
        return ("port %d on %s is already in use (another copy of this command, or another "
                "program, listens there): stop it or pick another port with %s PORT "
                "(%s 0 picks a free one)" % (self.port, self.host, self.flag, self.flag))


def listening(make_server, host, port, flag):
    """Return ``make_server()``; raise ``PortInUse`` naming ``flag`` when the port is taken."""
    try:
        return make_server()
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise PortInUse(host, port, flag) from None
        raise
