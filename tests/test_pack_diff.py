"""`rules diff V1 V2`: rules added, removed and changed (with the fields that changed),
policy values and list files; V a pack number, a version, `active`, `bundled` or a
folder. And a stored pack is made back into a pack safely (file names, safe YAML)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import ROOT

from customs_rules.cli.base import main
from customs_rules.contract.errors import PackError, RuleError
from customs_rules.rules.diff import diff_packs
from customs_rules.rules.loader import load_pack
from customs_rules.rules.packs import pack_from_contents, unsafe_name

BUNDLED = ROOT / "rules"


def cli(db: str, *args: str) -> Any:
    return CliRunner().invoke(main, ["--db", db, *args], catch_exceptions=False)


def edited(tmp_path: Path, name: str, edits: dict[str, tuple[str, str]]) -> Path:
    """The bundled pack with `old` replaced by `new` once in each named file ("" for
    `old` appends; None for `new` deletes the file)."""
    folder = tmp_path / name
    shutil.copytree(BUNDLED, folder)
    for file, (old, new) in edits.items():
        path = folder / file
        if new is None:
            path.unlink()
            continue
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        assert old in text, (file, old)
        path.write_text(text.replace(old, new, 1) if old else text + new, "utf-8")
    return folder


NEW_RULE = """---
id: drones-any-destination
title: Drones to any destination
description: Every drone export is looked at.
status: test
action: inspect
score: 10
conditions:
  field: item.hs_code
  in_list: [drones]
"""


def test_identical_packs_and_a_moved_or_reindented_rule_make_no_difference(tmp_path: Path) -> None:
    drones = (BUNDLED / "drones" / "drones.yaml").read_text(encoding="utf-8")
    first, _, rest = drones.partition("---\n")
    moved = edited(tmp_path, "moved", {"drones/drones.yaml": (drones, rest), "drones/moved.yaml": ("", first)})
    moved_in = moved / "drones" / "drones.yaml"
    moved_in.write_text(moved_in.read_text(encoding="utf-8").replace("[drones, drone_parts]", "\n  - drones\n  - drone_parts"
                        .replace("\n", "\n        "), 1), "utf-8")  # fmt: skip
    found = diff_packs(load_pack(BUNDLED), load_pack(moved))
    assert found.empty and found.old_version != found.new_version
    shown = cli(f"sqlite:///{tmp_path / 'none.db'}", "rules", "diff", "bundled", str(moved))
    assert shown.exit_code == 0, shown.output
    assert shown.stdout == (
        f"rules diff bundled → folder {moved} ({found.old_version[:19]}… → {found.new_version[:19]}…)\nno differences\n"
    )
    assert not (tmp_path / "none.db").exists()


def test_added_removed_changed_policy_and_lists(tmp_path: Path) -> None:
    new = edited(tmp_path, "new", {
        "drones/drones.yaml": ("score: 100\n", "score: 120\n"),
        "dual-use/chpl.yaml": ("status: active", "status: test"),
        "identifiers/checksum.yaml": ("", None),
        "drones/extra.yaml": ("", NEW_RULE.removeprefix("---\n")),
        "policy.yaml": ("  hold: 100", "  hold: 120"),
        "lists/drones.yaml": ("Unmanned aircraft", "Unmanned aircraft (drones)"),
        "lists/extra.yaml": ("", "kind: country_groups\nsource: test\ngroups:\n  none_yet:\n    title: x\n    countries: [DE]\n"),
    })  # fmt: skip
    watch = new / "watchlist" / "watchlist.yaml"
    text = watch.read_text(encoding="utf-8")
    watch.write_text(text.replace("in_list:", "not_in_list:", 1).replace("family: watchlist", "family: reported", 1))
    old_pack, new_pack = load_pack(BUNDLED), load_pack(new)
    found = diff_packs(old_pack, new_pack)
    checksum = next(r for r in old_pack.rules if r.source.endswith("checksum.yaml"))
    assert [r["id"] for r in found.added] == ["drones-any-destination"]
    assert [r["id"] for r in found.removed] == [checksum.id]
    changed = {c.rule_id: c for c in found.changed}
    assert changed["drones-ru-by"].fields == ("score",)
    assert (changed["drones-ru-by"].before, changed["drones-ru-by"].after) == ({"score": 100.0}, {"score": 120.0})
    assert changed["dual-use-chpl-high-tier-ru-by"].fields == ("status",)
    watch_changes = [c for c in found.changed if c.rule_id.startswith("watchlist")]
    assert {c.rule_id: c.fields for c in watch_changes} == {
        "watchlist-party": ("family",), "watchlist-party-listed-goods": ("conditions",),
    }  # fmt: skip
    assert [(p.path, p.before, p.after) for p in found.policy] == [("thresholds.hold", 100, 120)]
    assert found.lists == {"added": ["lists/extra.yaml"], "removed": [], "changed": ["lists/drones.yaml"]}

    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    shown = cli(db, "rules", "diff", str(BUNDLED), str(new))
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[1:3] == ["added (1):", "  + drones-any-destination  test inspect 10  Drones to any destination"]
    assert lines[3] == "removed (1):" and lines[4].startswith(f"  - {checksum.id}  active ")
    assert "  ~ drones-ru-by: score 100 → 120" in lines
    assert "  ~ dual-use-chpl-high-tier-ru-by: status active → test" in lines
    assert lines[-6:] == ["policy (1):", "  ~ thresholds.hold: 100 → 120", "lists added (1):", "  + lists/extra.yaml",
                          "lists changed (1):", "  ~ lists/drones.yaml"]  # fmt: skip
    as_json = json.loads(cli(db, "rules", "diff", str(BUNDLED), str(new), "--format", "json").stdout)
    assert as_json["from"] == old_pack.version and as_json["to"] == new_pack.version
    assert as_json["policy"] == [{"path": "thresholds.hold", "before": 100, "after": 120}]
    ru_by = next(c for c in as_json["changed"] if c["id"] == "drones-ru-by")
    assert ru_by == {"id": "drones-ru-by", "fields": ["score"], "before": {"score": 100.0}, "after": {"score": 120.0}}
    watch_json = next(c for c in as_json["changed"] if "conditions" in c["fields"])
    assert "not_in_list" in json.dumps(watch_json["after"]["conditions"])
    assert "not_in_list" not in json.dumps(watch_json["before"]["conditions"])


def test_packs_named_by_number_version_and_active(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = db_url
    one = edited(tmp_path, "one", {"drones/drones.yaml": ("score: 100\n", "score: 110\n")})
    two = edited(tmp_path, "two", {"drones/drones.yaml": ("score: 100\n", "score: 130\n")})
    for folder in (one, two):
        assert cli(db, "-q", "rules", "publish", "--rules", str(folder), "--officer", "kz-042").exit_code == 0
    none_active = cli(db, "rules", "diff", "active", "2")
    assert none_active.exit_code == 2
    assert none_active.stderr.startswith("Error: no pack is active on this database: commands use the bundled pack\n")
    assert cli(db, "rules", "approve", "1", "--officer", "kz-007").exit_code == 0
    v2 = load_pack(two).version
    for old, new, head in [("active", "#2", "active (#1) → #2"), ("1", v2[:15], f"#1 → {v2[:19]}…"),
                           (str(one), "2", f"folder {one} → #2")]:  # fmt: skip
        shown = cli(db, "rules", "diff", old, new)
        assert shown.exit_code == 0, shown.output
        assert shown.stdout.splitlines()[0].startswith(f"rules diff {head} (")
        assert shown.stdout.splitlines()[1:] == ["changed (1):", "  ~ drones-ru-by: score 110 → 130"]
    unknown = cli(db, "rules", "diff", "9", "active")
    assert (unknown.exit_code, unknown.stderr.splitlines()[0]) == (2, "Error: no rule pack #9 on this database")
    nothing = cli(db, "rules", "diff", "sha256:ffffffffff", "active")
    assert nothing.exit_code == 2
    assert nothing.stderr.splitlines()[0] == "Error: 'sha256:ffffffffff' names no pack, stored rule set or folder"
    (tmp_path / "3").mkdir()
    monkeypatch.chdir(tmp_path)
    ambiguous = cli(db, "rules", "diff", "3", "active")
    assert ambiguous.exit_code == 2
    assert ambiguous.stderr == "Error: '3' is both a pack number and a folder: write '#3' or ./3\n"
    missing_db = cli(f"sqlite:///{tmp_path / 'none.db'}", "rules", "diff", "1", "bundled")
    assert missing_db.exit_code == 2
    assert missing_db.stderr.startswith("Error: '1' is no folder, and there is no database to find a pack in\n")


@pytest.mark.parametrize(
    "name",
    ["../x.yaml", "/etc/x.yaml", "a/../../x.yaml", "a//b.yaml", "./a.yaml", "x.py", "a\\b.yaml", "a\x1b.yaml", ""],
)
def test_stored_file_names_that_would_leave_the_folder_are_refused(name: str) -> None:
    assert unsafe_name(name) is not None
    contents = {"policy.yaml": (BUNDLED / "policy.yaml").read_text(encoding="utf-8"), name: "id: x\n"}
    with pytest.raises(PackError, match="the pack is refused"):
        pack_from_contents(contents, "pack-1")


def test_good_names_pass() -> None:
    for name in ("policy.yaml", "drones/drones.yaml", "lists/chpl.yml", "a b/c-d_e.yaml"):
        assert unsafe_name(name) is None, name


def test_a_stored_pack_is_read_as_safe_yaml_only(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    contents = dict(load_pack(BUNDLED).contents)
    contents["drones/evil.yaml"] = f'!!python/object/apply:os.system ["touch {marker}"]\n'
    with pytest.raises(RuleError) as refused:
        pack_from_contents(contents, "pack-1")
    assert "pack-1/drones/evil.yaml:1" in str(refused.value)
    assert not marker.exists()


def test_a_stored_pack_comes_back_as_the_same_version() -> None:
    pack = load_pack(BUNDLED)
    again = pack_from_contents(pack.contents, "pack-1", pack.version)
    assert again.version == pack.version and [r.id for r in again.rules] == [r.id for r in pack.rules]
    with pytest.raises(PackError, match="no longer hash to sha256:0"):
        pack_from_contents(pack.contents, "pack-1", "sha256:0")
