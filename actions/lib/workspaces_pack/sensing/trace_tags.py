"""StackStorm trace tags for the pack's dispatches (``sensor_service.dispatch(..., trace_tag=)``).

StackStorm keeps a trace per tag (st2common/services/trace.py); a tag names what caused the
dispatch, ``<cause>:<identifier>``, so an operator can follow one file or EB from trigger to action.
"""

import hashlib

__all__ = ["trace_tag"]

MAX_TRACE_TAG = 200


def trace_tag(cause, identifier):
    """Return a StackStorm trace tag ``<cause>:<identifier>`` (``cause``: what kind of thing was
    found, e.g. ``alma_asdm``), the identifier hashed when the tag would be too long."""
    tag = "%s:%s" % (cause, identifier)
    if len(tag) <= MAX_TRACE_TAG:
        return tag
    digest = hashlib.sha1(str(identifier).encode("utf-8", "surrogateescape")).hexdigest()
    return "%s:sha1:%s" % (cause, digest)
