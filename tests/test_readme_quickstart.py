"""README.md as a newcomer reads it: the local quickstart runs as written, its sample payloads and
example rule are ones StackStorm would accept, and every relative link of the README and docs/
leads to a file (and heading).

The quickstart is the fenced block after the ``<!-- quickstart: ... -->`` marker, read from the
README at test time, so the test cannot drift from the text. It runs in bash from the checkout
with ``TMPDIR`` pointing into the test's temporary directory (the block's ``mktemp -d`` lands
there) and the emulator's port 3457 replaced by a free one, so parallel runs do not collide.
"""

import glob
import json
import os
import re
import socket
import subprocess

import pytest


PACK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(PACK_DIR, "README.md")


def _readme():
    with open(README) as handle:
        return handle.read()


def fenced_block_after(text, marker):
    """Return the body of the first fenced code block after the line holding ``marker``."""
    start = text.index(marker)
    match = re.compile(r"^```[a-z]*\n(.*?)^```$", re.S | re.M).search(text, start)
    assert match, "no fenced block after %r in README.md" % marker
    return match.group(1)


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_quickstart_runs_as_written(tmp_path):
    if not os.path.exists(os.path.join(PACK_DIR, ".venv", "bin", "python")):
        pytest.skip("the quickstart starts from the .venv that `make setup` makes, and this "
                    "checkout has none (tests running from another virtualenv)")
    script = fenced_block_after(_readme(), "<!-- quickstart:")
    assert "3457" in script, "the quickstart no longer starts the emulator on port 3457"
    script = script.replace("3457", str(_free_port()))
    # What a user's terminal does not need: stop at the first failing command, and never leave
    # the emulator behind when a command fails before the block's own `kill`.
    prologue = "set -eo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n"
    env = dict(os.environ, TMPDIR=str(tmp_path))
    done = subprocess.run(["bash", "-c", prologue + script], cwd=PACK_DIR, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=240)
    out = done.stdout
    assert done.returncode == 0, out
    # What the README says the user sees.
    assert "0 problem(s)" in out, out
    assert re.search(r"rule\s+workspaces\.alma_asdm_reingest matched -> "
                     r"workspaces\.capability_create_and_run", out), out
    assert re.search(r"result\s+workspaces\.capability_create_and_run #1 succeeded .*"
                     r"request 1 Submitted", out), out
    assert "status: succeeded" in out, out
    assert '"state": "Complete"' in out, out
    # The block keeps its files in one folder of its own under TMPDIR.
    made = os.listdir(str(tmp_path))
    assert len(made) == 1, made
    assert {"workspaces.yaml", "emulator.log"} <= set(
        os.listdir(os.path.join(str(tmp_path), made[0])))


def test_the_readme_gives_a_valid_sample_payload_of_every_trigger():
    """One sample per trigger type, each valid in StackStorm's schema dialect, without defaults
    filled in (the dispatcher sends the sensor's own dict)."""
    import jsonschema
    from st2common.util import schema as st2_schema
    from workspaces_devkit.content import load_pack

    text = _readme()
    types = load_pack(PACK_DIR).trigger_types()
    refs = re.findall(r"<!-- sample payload: (\S+) -->", text)
    assert sorted(refs) == sorted(types), "README.md's sample payloads: %s" % refs
    problems = []
    for ref in refs:
        payload = json.loads(fenced_block_after(text, "<!-- sample payload: %s -->" % ref))
        schema = types[ref]["payload_schema"]
        try:
            st2_schema.validate(payload, schema, cls=st2_schema.CustomValidator,
                                use_default=False)
        except jsonschema.ValidationError as error:
            problems.append("%s: %s" % (ref, error.message))
    assert not problems, problems


def test_a_payload_field_without_a_sample_value_is_named():
    from workspaces_devkit.readme_tables import sample_payload

    spec = {"ref": "workspaces.alma_asdm", "payload_schema": {"properties": {
        "eb_uid": {"type": "string"}, "source": {"enum": ["new", "reconcile"]},
        "new_field": {"type": "string"}}}}
    with pytest.raises(ValueError, match="workspaces.alma_asdm: payload field 'new_field'"):
        sample_payload(spec)
    del spec["payload_schema"]["properties"]["new_field"]
    assert sample_payload(spec) == {"eb_uid": "uid://A002/Xc7111c/X3979", "source": "new"}


def test_the_readme_example_rule_registers(tmp_path):
    from workspaces_devkit.content import load_pack, overlay_rules

    rule = fenced_block_after(_readme(), "<!-- example rule:")
    (tmp_path / "example_rule.yaml").write_text(rule)
    pack = load_pack(PACK_DIR)
    assert overlay_rules(pack, str(tmp_path)) == []
    assert [r.ref for r in pack.rules] == ["workspaces.alma_asdm_cycle_2019"]


def _markdown_files():
    return [README] + sorted(glob.glob(os.path.join(PACK_DIR, "docs", "*.md")))


def heading_anchors(text):
    """The anchors GitHub gives a Markdown file's headings (``## How it works`` -> how-it-works)."""
    anchors = set()
    for title in re.findall(r"^#+ (.+)$", re.sub(r"^```.*?^```$", "", text, flags=re.S | re.M),
                            re.M):
        anchors.add(re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-"))
    return anchors


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: os.path.relpath(p, PACK_DIR))
def test_relative_links_lead_to_files_and_headings(path):
    with open(path) as handle:
        text = handle.read()
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+://", target):
            continue
        name, _, anchor = target.partition("#")
        linked = os.path.join(os.path.dirname(path), name) if name else path
        if not os.path.exists(linked):
            broken.append(target)
        elif anchor and linked.endswith(".md"):
            with open(linked) as handle:
                if anchor not in heading_anchors(handle.read()):
                    broken.append(target)
    assert not broken, "%s links to missing files or headings: %s" % (
        os.path.relpath(path, PACK_DIR), broken)
