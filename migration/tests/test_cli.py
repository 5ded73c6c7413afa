"""`python -m migration data --from 1 --to 2`: the report, the exit status, the key, a rerun."""
import json

import psycopg

from migration.data import cli


def test_bulk_move_reports_verifies_reruns_and_fails_on_a_tampered_row(seeded, postgres, tmp_path, capsys):
    source_dir, target_dir = seeded.path.parent, tmp_path / "stage2"
    (source_dir / cli.STAGE1_KEY).write_text("-----BEGIN PRIVATE KEY-----\nnot a real key\n")
    base = postgres.url("").rstrip("/")
    argv = ["--sqlite", str(seeded.path), "--source-dir", str(source_dir), "--target-dir", str(target_dir),
            "--pg-url", base, "--json"]
    assert cli.main("1", "2", argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["ok"] and set(first["groups"]) == {"identity", "devices", "readings", "alerts"}
    assert first["groups"]["identity"]["verification"] == {
        "source_count": 3, "target_count": 3, "owners_checked": 3, "mismatches": []}
    assert (target_dir / cli.STAGE2_KEY).read_bytes() == (source_dir / cli.STAGE1_KEY).read_bytes()

    assert cli.main("1", "2", argv) == 0  # a rerun writes nothing and verifies the same
    again = json.loads(capsys.readouterr().out)
    assert all(g["copy"]["copied"] == 0 for g in again["groups"].values())

    with psycopg.connect(f"{base}/devices") as conn:
        owner, = conn.execute("UPDATE devices SET room = 'Cellar' WHERE id = (SELECT min(id) FROM devices)"
                              " RETURNING owner_id").fetchone()
    assert cli.main("1", "2", argv[:-1] + ["--verify-only"]) == 1
    text = capsys.readouterr().out
    assert "MISMATCH" in text and f"mismatching owners: {owner}" in text
