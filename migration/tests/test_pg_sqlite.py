"""Stage 2 -> stage 1 (rollback direction): mirror back, verify with the same checksums, rerun."""
import psycopg

from migration.data import pg_sqlite, sqlite_pg
from stage1_monolith.adapters.database import make_engine, migrate


def test_copy_back_into_an_empty_stage1_verifies_and_a_rerun_writes_nothing(seeded, service_dsns, tmp_path):
    for group in sqlite_pg.GROUPS:
        sqlite_pg.COPY[group](seeded.path, service_dsns[group])
    target = tmp_path / "homesense.sqlite3"
    engine = make_engine(target)
    migrate(engine)
    engine.dispose()
    with psycopg.connect(service_dsns["identity"]) as conn:
        # A user stage 2 registered after the cutover must come back with the rollback.
        conn.execute("INSERT INTO users SELECT 'new-user', 'dave', password_hash, now() FROM users LIMIT 1")
    first = {g: pg_sqlite.COPY_BACK[g](service_dsns[g], target) for g in pg_sqlite.GROUPS}
    assert first["readings"].copied > 200 and first["alerts"].copied > 0
    checks = {g: sqlite_pg.VERIFY[g](target, service_dsns[g]) for g in sqlite_pg.GROUPS}
    assert all(v.ok for v in checks.values()), {g: v.to_json() for g, v in checks.items()}
    again = {g: pg_sqlite.COPY_BACK[g](service_dsns[g], target) for g in pg_sqlite.GROUPS}
    assert [(s.copied, s.deleted) for s in again.values()] == [(0, 0)] * 4
    # The original stage 1 file lacks only that user.
    assert sqlite_pg.verify_identity(seeded.path, service_dsns["identity"]).mismatches == ["new-user"]
