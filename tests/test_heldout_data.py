"""The held-out real log sets (tests/data/heldout): each is intact, imports whole and matches
its manifest row. bench/replay_agreement.py replays them; these only guard the data."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tokenomy.ledger import Ledger
from tokenomy.pricing import Overrides, Pricer

HELDOUT = Path(__file__).resolve().parent / "data" / "heldout"
ALIASES = HELDOUT / "aliases.toml"
LICENCES = {"Apache-2.0", "MIT", "none stated"}


def manifest() -> dict[str, dict[str, str]]:
    """MANIFEST.md's table as {set: {column: cell}}."""
    lines = [
        ln for ln in (HELDOUT / "MANIFEST.md").read_text("utf-8").splitlines() if ln[:1] == "|"
    ]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[2:]]
    return {r[0]: dict(zip(header, r, strict=True)) for r in rows}


ROWS = manifest()


def test_manifest_names_every_set_and_a_licence_and_commit_for_each() -> None:
    on_disk = {p.name for p in HELDOUT.iterdir() if p.is_dir()}
    assert set(ROWS) == on_disk
    assert len(ROWS) >= 10
    for row in ROWS.values():
        assert row["licence"] in LICENCES
        assert len(row["commit"]) == 40 and int(row["commit"], 16) >= 0


def test_files_are_the_bytes_that_were_copied() -> None:
    # SHA256SUMS was written when the files were copied with `git show COMMIT:PATH`.
    sums = {}
    for line in (HELDOUT / "SHA256SUMS").read_text("utf-8").splitlines():
        digest, name = line.split(maxsplit=1)
        sums[name.removeprefix("./")] = digest
    files = {
        str(p.relative_to(HELDOUT)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in HELDOUT.rglob("*")
        if p.is_file() and p.parent != HELDOUT
    }
    assert files == sums


@pytest.mark.parametrize("name", sorted(ROWS))
def test_set_imports_whole_and_matches_its_manifest_row(name: str, tmp_path: Path) -> None:
    row = ROWS[name]
    folder = HELDOUT / name
    with Ledger(tmp_path, Pricer(Overrides.load(ALIASES))) as ledger:
        report = ledger.import_paths([folder])
        calls = ledger.count()
    assert report.skipped == {}, report.warnings
    assert report.files_unrecognised == 0
    assert report.unpriced == {}, report.warnings
    assert report.files_read == int(row["files"])
    assert calls == report.new_calls == int(row["calls"])
    assert sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) == int(row["bytes"])
