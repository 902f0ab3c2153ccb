"""What a refused request must leave exactly as it was: every row of every table, every media file."""
from __future__ import annotations

import hashlib


def database_state(db) -> dict[str, tuple[int, str]]:
    """Per table: (row count, sha256 of every row in primary-key order)."""
    db.session.commit()
    state = {}
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            rows = conn.execute(table.select().order_by(*table.primary_key.columns)).all()
            digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
            state[table.name] = (len(rows), digest)
    return state


def media_state(media_root) -> dict[str, str]:
    return {str(p.relative_to(media_root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(media_root.rglob("*")) if p.is_file()}
