"""NRAO's archive metadata table ``execution_blocks``: marking ALMA EBs' calibration status.

The one write of the pack (action ``workspaces.mark_asdm_not_calibrateable``): every EB changes in
one transaction or none does, rows of other telescopes are never touched.
"""

import sqlalchemy as sa

from workspaces_pack.archive.engines import (IN_CHUNK, ArchiveError, SchemaMismatch, UnknownUids,
                                             chunks, expanding, run_checked)
from workspaces_pack.archive.schema import labelled
from workspaces_pack.archive.table_checks import mismatched
from workspaces_pack.core.uids import canonical_uid, stored_uid_forms

__all__ = ["MetadataArchive"]


class MetadataArchive(object):
    """Writes to the NRAO archive metadata database (the not-calibrateable mark)."""

    def __init__(self, engine, mapping, telescope="ALMA"):
        self.engine = engine
        self.spec = mapping.spec("execution_blocks")
        self.telescope = telescope

    def _of_telescope(self, statement, stored_uids):
        table = self.spec.table
        return (statement.where(table.c.telescope == sa.bindparam("telescope", self.telescope))
                .where(table.c.eb_uid.in_(expanding("uids", stored_uids))))

    def mark_calibration_status(self, uids, status):
        """Set the calibration status of the ALMA EBs ``uids`` (either uid form; rows holding
        either match, only this telescope's) to ``status`` in one transaction. Returns one dict
        per uid (eb_uid as given, previous_status, new_status, changed). Raises ``UnknownUids``
        (and changes nothing) when a uid has no row, ``SchemaMismatch`` when the configured table
        or columns are missing or the uid column is not text."""
        canonical = [(uid, canonical_uid(uid)) for uid in uids]
        bad = [uid for uid, form in canonical if form is None]
        if bad:
            raise ArchiveError("not an ALMA uid: %s" % ", ".join(map(str, bad)))
        half = IN_CHUNK // 2
        table = self.spec.table
        read = sa.select(*labelled(table, "eb_uid", "calibration_status")).with_for_update()
        update = table.update().values(calibration_status=sa.bindparam("status", status))

        def mark(connection):
            mismatch = mismatched(connection, [self.spec])
            if mismatch:
                raise SchemaMismatch(mismatch)
            previous = {}
            forms = sorted(set(form for _, form in canonical))
            for chunk in chunks(forms, half):
                rows = connection.execute(self._of_telescope(read, stored_uid_forms(chunk)))
                for row in rows:
                    previous.setdefault(canonical_uid(row.eb_uid), []).append(
                        row.calibration_status)
            missing = [uid for uid, form in canonical if form not in previous]
            if missing:
                raise UnknownUids(missing)
            to_change = [form for form in forms
                         if any(value != status for value in previous[form])]
            for chunk in chunks(to_change, half):
                connection.execute(self._of_telescope(update, stored_uid_forms(chunk)))
            connection.commit()  # all or nothing: an error before this rolls every change back
            return [{"eb_uid": uid, "previous_status": previous[form][0], "new_status": status,
                     "changed": form in to_change} for uid, form in canonical]
        return run_checked(self.engine, mark, [self.spec], "archive metadata")
