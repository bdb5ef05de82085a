"""The DuckDB store: schema, named migrations and every write. The only module that writes SQL.

Writes are upserts keyed by content-hash ids, handed over as Arrow tables (no per-row SQL), and
each batch is one transaction. Opening a file made by an older schema applies the migrations
it lacks; the ``_migrations`` table records which ones ran and when.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, fields
from operator import attrgetter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from narrator.errors import StoreError
from narrator.columns import JSON_COLUMNS, bundle_tables, last_wins
from narrator.columns import encode as _encode
from narrator.records import Quarantine, SceneBundle, SceneRefs, to_row

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Migration:
    name: str
    sql: str


#: tables without a primary key (migrations 0005 and 0008), keyed by their first column: an
#: upsert deletes the keys it brings first
KEYLESS = ("objects", "regions", "vqa", "captions", "candidates", "scenes", "facts",
           "processed")

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "0001_core",
        """
        CREATE TABLE scenes (
            scene_id VARCHAR PRIMARY KEY, dataset VARCHAR, file_name VARCHAR,
            image_path VARCHAR, width INTEGER, height INTEGER, source VARCHAR, split VARCHAR,
            bands INTEGER, dtype VARCHAR, crs VARCHAR, transform DOUBLE[], gsd_m DOUBLE,
            center_lon DOUBLE, center_lat DOUBLE, footprint_wkb BLOB,
            platform VARCHAR, band VARCHAR, polarization VARCHAR, mode VARCHAR,
            incidence_angle DOUBLE, orbit_direction VARCHAR, acquired_at VARCHAR, meta VARCHAR
        );
        CREATE TABLE objects (
            object_id VARCHAR PRIMARY KEY, scene_id VARCHAR, category VARCHAR,
            x0 DOUBLE, y0 DOUBLE, x1 DOUBLE, y1 DOUBLE, source_category VARCHAR,
            fine_type VARCHAR, angle DOUBLE, poly_wkb BLOB, difficult BOOLEAN,
            source_id VARCHAR, attrs VARCHAR
        );
        CREATE TABLE regions (
            region_id VARCHAR PRIMARY KEY, scene_id VARCHAR, category VARCHAR,
            area_px DOUBLE, fraction DOUBLE, geom_wkb BLOB, source VARCHAR
        );
        CREATE TABLE quarantine (
            quarantine_id VARCHAR PRIMARY KEY, dataset VARCHAR, stage VARCHAR, source VARCHAR,
            record VARCHAR, scene_id VARCHAR, error VARCHAR
        );
        CREATE TABLE runs (
            run_id VARCHAR PRIMARY KEY, command VARCHAR, dataset VARCHAR, params VARCHAR,
            started_at TIMESTAMP, finished_at TIMESTAMP, status VARCHAR,
            invocations INTEGER, summary VARCHAR
        );
        CREATE INDEX objects_scene ON objects(scene_id);
        CREATE INDEX regions_scene ON regions(scene_id);
        """,
    ),
    Migration(
        "0002_texts",
        """
        CREATE TABLE facts (
            scene_id VARCHAR PRIMARY KEY, version INTEGER, facts_hash VARCHAR, facts VARCHAR
        );
        CREATE TABLE vqa (
            qa_id VARCHAR PRIMARY KEY, scene_id VARCHAR, task VARCHAR, question VARCHAR,
            answer VARCHAR, params VARCHAR, template_id VARCHAR, template_version INTEGER,
            style VARCHAR
        );
        CREATE TABLE captions (
            caption_id VARCHAR PRIMARY KEY, scene_id VARCHAR, kind VARCHAR, text VARCHAR,
            status VARCHAR, generator VARCHAR, template_id VARCHAR, params VARCHAR
        );
        CREATE TABLE candidates (
            candidate_id VARCHAR PRIMARY KEY, scene_id VARCHAR, kind VARCHAR,
            round INTEGER, sample_index INTEGER, text VARCHAR, violations VARCHAR,
            verdict VARCHAR, call_key VARCHAR
        );
        CREATE TABLE llm_calls (
            call_key VARCHAR PRIMARY KEY, model VARCHAR, prompt_id VARCHAR,
            prompt_hash VARCHAR, request VARCHAR, response VARCHAR, parsed VARCHAR,
            status VARCHAR, error VARCHAR, finish_reason VARCHAR, latency_s DOUBLE,
            prompt_tokens INTEGER, completion_tokens INTEGER, created_at TIMESTAMP
        );
        CREATE TABLE processed (
            scene_id VARCHAR PRIMARY KEY, content_hash VARCHAR, config_hash VARCHAR,
            committed_at TIMESTAMP
        );
        CREATE INDEX vqa_scene ON vqa(scene_id);
        CREATE INDEX captions_scene ON captions(scene_id);
        """,
    ),
    Migration(
        # ingest streams scenes into the database in batches and shards read them back:
        # the scene's content hash decides what must be rewritten, ``ord`` keeps the order
        # a reader gave a scene's objects and regions (facts index objects by it). The
        # scene_id indexes go: DuckDB uses them for no join or IN list, and keeping them
        # up to date doubled the cost of every insert.
        "0003_scale_stream",
        """
        ALTER TABLE scenes ADD COLUMN content_hash VARCHAR;
        ALTER TABLE objects ADD COLUMN ord INTEGER;
        ALTER TABLE regions ADD COLUMN ord INTEGER;
        DROP INDEX objects_scene;
        DROP INDEX regions_scene;
        DROP INDEX vqa_scene;
        DROP INDEX captions_scene;
        """,
    ),
    Migration(
        # what the last complete ingest of a dataset read (narrator.ingest.unchanged): a
        # rerun over unchanged files takes it instead of reading every file again
        "0004_ingest_state",
        """
        CREATE TABLE ingest_state (
            dataset VARCHAR PRIMARY KEY, fingerprint VARCHAR, result VARCHAR
        );
        """,
    ),
    Migration(
        # the per-scene row tables lose their primary key: they are written by replacing a
        # scene's rows (delete by scene, insert), so the key's index only checked what the
        # content-hash ids already guarantee, and keeping it cost two thirds of every insert
        # (1M rows: 6.0 s with it, 2.0 s without; 5M rows: 32 s and 10 s). Uniqueness is
        # tested instead (tests/test_store.py); Store.upsert deletes then inserts for them.
        "0005_keyless_rows",
        "\n".join(f"""
        CREATE TABLE _keyless AS SELECT * FROM {table};
        DROP TABLE {table};
        ALTER TABLE _keyless RENAME TO {table};""" for table in KEYLESS),
    ),
    Migration(
        # the SceneFacts JSON (about 5.6 KB a scene, more than all of a scene's texts) is
        # stored zstd-compressed: DuckDB's default analysis picks FSST for it, whose
        # compression cost 13 s of a 100k-scene run's commits (565 MB of JSON -> 201 MB);
        # zstd took 4.7 s for 93 MB (one trial with 16,384-scene commits; benchmarks/
        # store_commits.py measures this and ROW_GROUP_SIZE together). Same values and type.
        "0006_facts_zstd",
        """
        CREATE TABLE _facts (
            scene_id VARCHAR PRIMARY KEY, version INTEGER, facts_hash VARCHAR,
            facts VARCHAR USING COMPRESSION zstd
        );
        INSERT INTO _facts SELECT scene_id, version, facts_hash, facts FROM facts;
        DROP TABLE facts;
        ALTER TABLE _facts RENAME TO facts;
        """,
    ),
    Migration(
        # the scenes of a dataset's last complete ingest, one row each, instead of inside
        # ingest_state's JSON: at a million scenes that JSON was one 38 MB value, which
        # DuckDB could not allocate under a 200 MB memory limit
        "0007_ingest_scenes",
        """
        CREATE TABLE ingest_scenes (
            dataset VARCHAR, scene_id VARCHAR, content_hash VARCHAR
        );
        """,
    ),
    Migration(
        # the tables with a row per scene lose their primary key: DuckDB keeps a key's index
        # (ART) in memory whole, outside what it can evict, about 45 bytes a key (a 64MB
        # limit failed at 1.2M keys in a trial), so three of them grew with the dataset past
        # the memory limit the store sets. Writers delete a scene's rows before writing them
        # again, as for the other keyless tables; facts stay zstd-compressed (0006)
        "0008_keyless_scenes",
        """
        CREATE TABLE _keyless AS SELECT * FROM scenes;
        DROP TABLE scenes;
        ALTER TABLE _keyless RENAME TO scenes;
        CREATE TABLE _keyless AS SELECT * FROM processed;
        DROP TABLE processed;
        ALTER TABLE _keyless RENAME TO processed;
        CREATE TABLE _facts (
            scene_id VARCHAR, version INTEGER, facts_hash VARCHAR,
            facts VARCHAR USING COMPRESSION zstd
        );
        INSERT INTO _facts SELECT scene_id, version, facts_hash, facts FROM facts;
        DROP TABLE facts;
        ALTER TABLE _facts RENAME TO facts;
        """,
    ),
)

#: DuckDB's memory limit while ingest and generate write (``NARRATOR_DUCKDB_MEMORY``). What it
#: holds is mostly a cache of blocks it can evict or spill, since no table with a row per
#: scene has a key (0008). Tree PSS at 100k scenes with benchmarks/scale.py, one trial each:
#: 737 MB at 64MB, 763 MB at 100MB, 835 MB at 200MB, the same seconds. At 1M scenes
#: (``--big``) 64MB held for ingest and every shard; only the summary's answer skew ran out,
#: which now runs under ``narrator.generate.generator.SUMMARY_MEMORY``
DUCKDB_MEMORY = "64MB"

#: Tables a user sees in ``narrator report`` and the summary, in schema order.
TABLES = (
    "scenes", "objects", "regions", "facts", "vqa", "captions", "candidates",
    "llm_calls", "runs", "quarantine", "processed",
)
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def _setting(value: str) -> str:
    if not re.match(r"^\d+(\.\d+)?\s*[KMGT]?i?B$", value.strip(), re.I):
        raise StoreError(f"not a memory size: {value!r} (e.g. 300MB or 2GB)")
    return value.strip()


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise StoreError(f"not a table or column name: {name!r}")
    return name


def record_columns(records: Sequence[Any]) -> dict[str, list[Any]]:
    """Columns of a list of dataclass records (private ``_`` fields left out)."""
    names = [f.name for f in fields(records[0]) if not f.name.startswith("_")]
    data = {n: list(map(attrgetter(n), records)) for n in names}
    if isinstance(records[0], Quarantine):
        data["quarantine_id"] = [q.quarantine_id for q in records]
    return data


def apply_migrations(con: duckdb.DuckDBPyConnection, upto: int | None = None) -> list[str]:
    """Apply the migrations this database lacks (the first ``upto`` of them if given)."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMP)"
    )
    done = {r[0] for r in con.execute("SELECT name FROM _migrations").fetchall()}
    applied = []
    for migration in MIGRATIONS[:upto]:
        if migration.name in done:
            continue
        con.execute("BEGIN")
        try:
            con.execute(migration.sql)
            con.execute(
                "INSERT INTO _migrations VALUES (?, ?)", [migration.name, datetime.now(UTC)]
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(migration.name)
        log.info("applied migration %s", migration.name)
    return applied


def connect(path: str | Path, read_only: bool = False, wait_s: float | None = None,
            on_wait: Callable[[str], None] | None = None) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file, turning lock and corruption errors into a clear StoreError.

    A file in use by another process is tried again every half second for ``wait_s``
    seconds (default: NARRATOR_DB_WAIT_S, else 60; 0 fails at once); ``on_wait`` (default:
    a log warning) is told once that the wait began."""
    path = Path(path)
    if read_only and not path.exists():
        raise StoreError(f"{path}: no such database; run `narrator generate` first")
    if wait_s is None:
        wait_s = _db_wait_s()
    deadline = time.monotonic() + wait_s
    waiting = False
    while True:
        try:
            return _connect_once(path, read_only)
        except _Locked as exc:
            if time.monotonic() >= deadline:
                waited = f" (waited {wait_s:g} s; NARRATOR_DB_WAIT_S sets how long)" \
                    if wait_s > 0 else ""
                raise StoreError(f"{exc}{waited}") from None
            if not waiting:
                waiting = True
                (on_wait or log.warning)(f"{exc.args[0].partition('; ')[0]}; waiting up to "
                                         f"{wait_s:g} s for it (NARRATOR_DB_WAIT_S)")
            time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))


class _Locked(Exception):
    """The file is locked by another process (connect may wait and try again)."""


#: rows per row group of the tables this connection writes. A transaction that appends at
#: least a row group to a table writes it compressed into the file at once; smaller appends go
#: to the write-ahead log first and are compressed again by the next checkpoint. A generate
#: commit appends 4 shards of 1,024 scenes (4,096 facts rows, about 43k QA pairs, 8,192
#: captions): with DuckDB's default of 122,880 rows, all of it took the log-and-checkpoint
#: path (benchmarks/store_commits.py at 100k scenes, with zstd facts: 9.7 s with DuckDB's
#: defaults, 3.3 s with this). Larger groups were no faster in a whole run and held more
#: memory (benchmarks/scale.py, 100k scenes --no-server, with 16,384 rows and 16 shards a
#: commit: generate 50.2 s, tree PSS 1,003 MB; with 4,096 and 4: 49.5 s, 894 MB).
ROW_GROUP_SIZE = 4_096


def _attach(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """The database file attached (as ``narrator``, the default catalog) with this
    connection's row group size, which only ATTACH sets."""
    con = duckdb.connect()
    try:
        options = f"ROW_GROUP_SIZE {ROW_GROUP_SIZE}" + (", READ_ONLY" if read_only else "")
        quoted = str(path).replace("'", "''")
        con.execute(f"ATTACH '{quoted}' AS narrator ({options})")
        con.execute("USE narrator")
    except BaseException:
        con.close()
        raise
    return con


def _db_wait_s() -> float:
    raw = os.environ.get("NARRATOR_DB_WAIT_S", "60")
    try:
        return max(0.0, float(raw))
    except ValueError:
        raise StoreError(f"NARRATOR_DB_WAIT_S={raw!r}: expected a number of seconds") from None


def _connect_once(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        return _attach(path, read_only)
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            holder = re.search(r"PID (\d+)", text)
            who = f" (process {holder.group(1)})" if holder else ""
            raise _Locked(
                f"{path}: the database is in use by another narrator or DuckDB process{who}; "
                "wait for it to finish or use another --db"
            ) from None
        raise StoreError(f"{path}: cannot open the database: {text}") from None
    except duckdb.Error as exc:
        raise StoreError(f"{path}: not a usable DuckDB database: {exc}") from None


class Store:
    """A migrated DuckDB database. Not thread-safe: one writer (the flow) owns it."""

    def __init__(self, path: str | Path, read_only: bool = False,
                 wait_s: float | None = None,
                 on_wait: Callable[[str], None] | None = None) -> None:
        self.path = Path(path)
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.con = connect(self.path, read_only=read_only, wait_s=wait_s, on_wait=on_wait)
        if not read_only:
            apply_migrations(self.con)
        self._in_tx = False
        self._columns: dict[str, list[str]] = {}

    # -- lifecycle ---------------------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """Another connection to the same open database (for a second result stream),
        with its default catalog set like this one's."""
        cursor = self.con.cursor()
        cursor.execute("USE narrator")
        return cursor

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """One transaction; nested calls join the outer one."""
        if self._in_tx:
            yield self
            return
        self.con.execute("BEGIN TRANSACTION")
        self._in_tx = True
        try:
            yield self
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        finally:
            self._in_tx = False

    # -- writes -------------------------------------------------------------------------------
    def columns(self, table: str) -> list[str]:
        """The table's columns (cached: the schema only changes by migration, at open)."""
        if table not in self._columns:
            self._columns[table] = self._read_columns(table)
        return self._columns[table]

    def _read_columns(self, table: str) -> list[str]:
        rows = self.con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position",
            [table],
        ).fetchall()
        return [r[0] for r in rows]

    def upsert(self, table: str, rows: Sequence[dict[str, Any]] | Sequence[Any],
               replace: bool = True) -> int:
        """Insert or replace ``rows`` in one statement; returns the number of distinct keys.

        ``rows`` are dicts keyed by column name, or records (dataclasses) whose fields are
        columns; records are read column by column, which is much faster for big batches.
        Duplicate keys inside one batch: the last one wins.
        """
        if not rows:
            return 0
        table_cols = self.columns(_ident(table))
        if isinstance(rows[0], dict):
            cols = [c for c in table_cols if c in rows[0]]
            data = {c: [row.get(c) for row in rows] for c in cols}
        else:
            data = record_columns(rows)
            cols = [c for c in table_cols if c in data]
        data = last_wins({c: data[c] for c in cols}, cols[0])
        for c in cols:
            if c in JSON_COLUMNS:
                data[c] = [_encode(v, c) for v in data[c]]
        self._insert_arrow(table, pa.table(data), replace=replace)
        return len(data[cols[0]])

    def append(self, table: str, arrow: pa.Table) -> None:
        """Insert an Arrow table's rows as they are (no key is looked up)."""
        self._insert_arrow(table, arrow, replace=False)

    def _insert_arrow(self, table: str, arrow: pa.Table, replace: bool) -> None:
        """Insert an Arrow table's columns that ``table`` has (others are left out)."""
        name = f"_incoming_{table}"
        have = set(arrow.column_names)
        cols = ", ".join(c for c in self.columns(_ident(table)) if c in have)
        with self._registered(name, arrow):
            if replace and table in KEYLESS:  # no key to replace by: delete the keys, insert
                key = self.columns(table)[0]
                with self.transaction():
                    self.con.execute(f"DELETE FROM {table} WHERE {key} IN "
                                     f"(SELECT {key} FROM {name})")
                    self.con.execute(f"INSERT INTO {table} BY NAME SELECT {cols} FROM {name}")
            else:
                verb = "INSERT OR REPLACE" if replace else "INSERT"
                self.con.execute(f"{verb} INTO {table} BY NAME SELECT {cols} FROM {name}")

    @contextmanager
    def _registered(self, name: str, table: pa.Table) -> Iterator[None]:
        """``table`` visible to SQL as ``name`` while open. When the body fails, that error
        is the one raised: an aborted transaction refuses even the unregister."""
        self.con.register(name, table)
        try:
            yield
        except BaseException:
            with suppress(duckdb.Error):
                self.con.unregister(name)
            raise
        self.con.unregister(name)

    def delete_scenes(self, table: str, scene_ids: Iterable[str]) -> None:
        """Delete the rows of ``table`` that belong to ``scene_ids`` (before re-inserting them)."""
        ids = pa.table({"scene_id": list(scene_ids)})
        with self._registered("_scene_ids", ids):
            self.con.execute(
                f"DELETE FROM {_ident(table)} WHERE scene_id IN (SELECT scene_id FROM _scene_ids)"
            )

    # -- pipeline writes ---------------------------------------------------------------------
    def tune_for_bulk(self) -> None:
        """Settings for a long run of big commits (ingest, generate): DuckDB's buffer memory
        capped (``NARRATOR_DUCKDB_MEMORY``, default ``DUCKDB_MEMORY``; it spills beyond) so
        the process stays flat as the database grows, and a checkpoint every 256 MB of log
        rather than every 16 MB (each rewrote the tables' open row groups: 17 s of a
        50k-scene run's commits at the default, 11 s at 256 MB, measured before commits
        wrote whole row groups; the same seconds at 100k now, one trial each)."""
        memory = os.environ.get("NARRATOR_DUCKDB_MEMORY", DUCKDB_MEMORY)
        self.con.execute(f"SET memory_limit = '{_setting(memory)}'")
        self.con.execute("SET checkpoint_threshold = '256MB'")

    def scene_hashes(self) -> dict[str, str | None]:
        """scene id -> the content hash its stored rows were written from."""
        rows = self.con.execute("SELECT scene_id, content_hash FROM scenes").fetchall()
        return dict(rows)

    def write_bundles(self, bundles: Sequence[SceneBundle],
                      stored: dict[str, str | None] | None = None) -> int:
        """Write scenes with their objects and regions, one transaction per call.

        ``stored`` (from :meth:`scene_hashes`) lets unchanged scenes be skipped and new ones
        be inserted without first deleting what they never had; without it every scene is
        replaced. Returns the number of scenes written.
        """
        if stored is not None:
            bundles = [b for b in bundles if stored.get(b.scene.scene_id) != b.content_hash]
        if not bundles:
            return 0
        old = [b.scene.scene_id for b in bundles if stored is None or b.scene.scene_id in stored]
        tables = bundle_tables(bundles)
        with self.transaction():
            for table in ("objects", "regions", "scenes"):
                if old:
                    self.delete_scenes(table, old)
                self._insert_arrow(table, tables[table], replace=False)
        return len(bundles)

    def write_quarantine(self, dataset: str, stage: str,
                         quarantine: Sequence[Quarantine]) -> None:
        """Make ``quarantine`` the whole quarantine of ``stage`` for ``dataset``."""
        with self.transaction():
            self.con.execute("DELETE FROM quarantine WHERE stage = ? AND dataset = ?",
                             [stage, dataset])
            self.upsert("quarantine", [to_row(q) | {"dataset": dataset} for q in quarantine])

    def write_ingest(self, dataset: str, bundles: Sequence[SceneBundle],
                     quarantine: Sequence[Quarantine]) -> None:
        """Scenes with their objects and regions, and this dataset's ingest quarantine."""
        with self.transaction():
            self.write_bundles(bundles)
            self.write_quarantine(dataset, "ingest", quarantine)

    def load_shard(self, scene_ids: Sequence[str]) -> dict[str, pa.Table]:
        """The stored scenes, objects and regions of ``scene_ids`` as Arrow tables (scenes in
        the order given, objects and regions in their reader's order): a shard's input."""
        return next(self.iter_shards([list(scene_ids)]))

    def iter_shards(self, shards: Sequence[Sequence[str]],
                    stage_scenes: int = 16_384) -> Iterator[dict[str, pa.Table]]:
        """:meth:`load_shard` for each of ``shards`` in turn, cheaply: the rows of the next
        ``stage_scenes`` scenes or so are copied, in shard order, into temporary tables by one
        join, and each shard is then a range read of those (a join per shard would scan the
        whole objects table every time; staging everything at once would hold a copy of the
        dataset). Other statements may run between two shards."""
        names = {t: ", ".join(c for c in self.columns(t) if c != "ord")
                 for t in ("scenes", "objects", "regions")}
        i = 0
        try:
            while i < len(shards):
                group, n = [], 0
                while i < len(shards) and (not group or n + len(shards[i]) <= stage_scenes):
                    group.append(shards[i])
                    n += len(shards[i])
                    i += 1
                self._stage([s for shard in group for s in shard], names)
                start = 0
                for shard in group:
                    end = start + len(shard)
                    yield {t: self.con.sql(
                        f"SELECT {cols} FROM _staged_{t} WHERE _pos >= {start} AND _pos < {end} "
                        "ORDER BY _pos" + (", ord" if t != "scenes" else "")).to_arrow_table()
                        for t, cols in names.items()}
                    start = end
        except BaseException:
            with suppress(duckdb.Error):  # an aborted transaction refuses: keep its error
                self._drop_staged(names)
            raise
        self._drop_staged(names)

    def _drop_staged(self, names: Iterable[str]) -> None:
        for table in names:
            self.con.execute(f"DROP TABLE IF EXISTS _staged_{table}")

    def _stage(self, scene_ids: list[str], names: dict[str, str]) -> None:
        ids = pa.table({"scene_id": scene_ids, "_pos": range(len(scene_ids))})
        with self._registered("_shard_ids", ids):
            for table in names:
                order = "i._pos" + (", t.ord" if table != "scenes" else "")
                self.con.execute(
                    f"CREATE OR REPLACE TEMP TABLE _staged_{table} AS SELECT t.*, i._pos "
                    f"FROM {table} t JOIN _shard_ids i USING (scene_id) ORDER BY {order}")

    def commit_texts(self, scene_ids: Sequence[str],
                     tables: dict[str, pa.Table | Sequence[dict[str, Any]]],
                     processed: Sequence[dict[str, Any]], fresh: bool = False) -> None:
        """Replace the rows of ``scene_ids`` in each of ``tables`` (table name -> Arrow table
        or dict rows) and upsert their ``processed`` rows, in one transaction.

        ``fresh``: none of the scenes was ever committed, so nothing is deleted first (a
        delete scans the whole table: per shard, that grows with the database)."""
        with self.transaction():
            for table, rows in tables.items():
                if not fresh:
                    self.delete_scenes(table, scene_ids)
                self._insert_rows(table, rows)
            self.upsert("processed", processed, replace=not fresh)

    def _insert_rows(self, table: str, rows: pa.Table | Sequence[dict[str, Any]]) -> None:
        if isinstance(rows, pa.Table):
            if rows.num_rows:
                self.append(table, rows)
        else:
            self.upsert(table, rows, replace=False)  # ids embed the scene id: no conflicts

    def upsert_where(self, table: str, rows: Sequence[dict[str, Any]], key: str,
                     where: str) -> int:
        """Insert or replace ``rows`` (dicts by column; JSON columns encoded) in one
        statement, but only those for which the SQL condition ``where`` holds, over the
        incoming row ``i`` and the stored row ``c`` with the same ``key`` (``c.<key> IS
        NULL`` when there is none). Returns the number of rows offered."""
        if not rows:
            return 0
        cols = self.columns(_ident(table))
        data = {c: [_encode(r.get(c), c) for r in rows] for c in cols}
        name = f"_incoming_{table}"
        with self._registered(name, pa.table(data)):
            self.con.execute(
                f"INSERT OR REPLACE INTO {table} BY NAME SELECT i.* FROM {name} i "
                f"LEFT JOIN {table} c ON c.{_ident(key)} = i.{_ident(key)} WHERE {where}")
        return len(rows)

    @property
    def in_transaction(self) -> bool:
        return self._in_tx

    # -- runs -------------------------------------------------------------------------------
    def start_run(self, run_id: str, command: str, dataset: str, params: dict[str, Any]) -> None:
        prev = self.scalar("SELECT invocations FROM runs WHERE run_id = ?", [run_id])
        self.upsert("runs", [{
            "run_id": run_id, "command": command, "dataset": dataset, "params": params,
            "started_at": datetime.now(UTC), "finished_at": None, "status": "running",
            "invocations": (prev or 0) + 1, "summary": None,
        }])

    def finish_run(self, run_id: str, status: str, summary: dict[str, Any]) -> None:
        self.con.execute(
            "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE run_id = ?",
            [datetime.now(UTC), status, _encode(summary, "summary"), run_id],
        )

    # -- reads ------------------------------------------------------------------------------
    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first value of the first row (None if no row); reads the result to the end,
        as DuckDB requires before the connection runs anything else."""
        rows = self.con.execute(sql, list(params)).fetchall()
        return rows[0][0] if rows else None

    def count(self, table: str, where: str = "", params: Sequence[Any] = ()) -> int:
        sql = f"SELECT count(*) FROM {_ident(table)}" + (f" WHERE {where}" if where else "")
        return int(self.scalar(sql, params) or 0)

    def counts(self) -> dict[str, int]:
        return {t: self.count(t) for t in TABLES}

    def migrations(self) -> list[str]:
        return [r[0] for r in self.con.execute("SELECT name FROM _migrations ORDER BY name").fetchall()]

    def scene_refs(self, dataset: str | None = None) -> SceneRefs:
        """Every stored scene (of ``dataset``) by the names users give scenes."""
        refs = SceneRefs()
        rows = self.con.execute(
            "SELECT scene_id, file_name, image_path FROM scenes"
            + (" WHERE dataset = ?" if dataset else "") + " ORDER BY scene_id",
            [dataset] if dataset else []).fetchall()
        for row in rows:
            refs.add(*row)
        return refs

    def to_process(self, dataset: str, config_hash: str) -> list[tuple[str, bool]]:
        """The scenes of the last ingest of ``dataset`` (``ingest_scenes``) that were never
        made from their content with ``config_hash``, sorted by id, each with whether it was
        made before at all (from other content or settings)."""
        return self.con.execute(
            "SELECT i.scene_id, p.scene_id IS NOT NULL FROM ingest_scenes i "
            "LEFT JOIN processed p ON p.scene_id = i.scene_id WHERE i.dataset = ? "
            "AND (p.scene_id IS NULL OR p.content_hash IS DISTINCT FROM i.content_hash "
            "OR p.config_hash IS DISTINCT FROM ?) ORDER BY i.scene_id",
            [dataset, config_hash]).fetchall()

    def processed(self) -> dict[str, tuple[str, str]]:
        rows = self.con.execute("SELECT scene_id, content_hash, config_hash FROM processed")
        return {r[0]: (r[1], r[2]) for r in rows.fetchall()}

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Run a read-only SELECT and return dict rows (JSON columns decoded)."""
        cur = self.con.execute(sql, list(params))
        names = [d[0] for d in cur.description]
        out = []
        for values in cur.fetchall():
            row = dict(zip(names, values, strict=True))
            for c in names:
                if c in JSON_COLUMNS and isinstance(row[c], str):
                    row[c] = json.loads(row[c])
            out.append(row)
        return out

    def iter_batches(self, sql: str, batch_rows: int = 50_000) -> Iterator[pa.RecordBatch]:
        """Stream a SELECT as Arrow record batches (constant memory for big exports)."""
        reader = self.con.sql(sql).to_arrow_reader(batch_rows)
        yield from reader
