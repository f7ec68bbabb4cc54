"""Delete rows and every row that refers to them, however deep, in SQL: what a benchmark or a
simulation made, found through the database's own foreign keys.

Django's cascade collector reads every row into Python first (minutes at a province's size),
and a list of tables written by hand misses the next table that refers to an elder. Here the
closure is computed from `pg_constraint` in the database: the roots' ids go into a temporary
table per table, each foreign key adds the rows that refer to what is marked, until a pass
marks nothing new; then every marked row is deleted. Django creates its foreign keys
DEFERRABLE INITIALLY DEFERRED, so the order of the deletes does not matter inside the one
transaction, and rows that refer to each other (an alarm and its work order) go together.

Only referring rows are followed, never referred ones: deleting a district's work orders
leaves the service types they named.
"""

from collections.abc import Mapping

from django.db import connection, transaction

_FOREIGN_KEYS = """
SELECT child.relname, child_col.attname, parent.relname, parent_col.attname
FROM pg_constraint c
JOIN pg_class child ON child.oid = c.conrelid
JOIN pg_class parent ON parent.oid = c.confrelid
JOIN pg_namespace n ON n.oid = child.relnamespace
JOIN pg_attribute child_col
  ON child_col.attrelid = c.conrelid AND child_col.attnum = c.conkey[1]
JOIN pg_attribute parent_col
  ON parent_col.attrelid = c.confrelid AND parent_col.attnum = c.confkey[1]
WHERE c.contype = 'f' AND array_length(c.conkey, 1) = 1 AND n.nspname = current_schema()
"""

_PRIMARY_KEYS = """
SELECT t.relname, a.attname
FROM pg_index i
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = i.indkey[0]
WHERE i.indisprimary AND i.indnatts = 1 AND n.nspname = current_schema()
"""


def delete_with_dependents(roots: Mapping[str, tuple[str, list]]) -> dict[str, int]:
    """Delete the rows of each root table that match its condition (`{table: (sql, params)}`,
    the condition over the table's own columns) and every row that refers to any of them,
    in one transaction. Returns the rows deleted per table (tables with none left out)."""
    q = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute(_PRIMARY_KEYS)
        pks = dict(cursor.fetchall())
        cursor.execute(_FOREIGN_KEYS)
        keys = [row for row in cursor.fetchall() if row[0] in pks and row[2] in pks]
        marked: dict[str, str] = {}

        def mark_table(table: str) -> str:
            if table not in marked:
                name = f"_del_{len(marked)}"
                cursor.execute(
                    f"CREATE TEMP TABLE {name} ON COMMIT DROP AS "  # noqa: S608
                    f"SELECT {q(pks[table])} AS pk FROM {q(table)} WITH NO DATA"
                )
                cursor.execute(f"ALTER TABLE {name} ADD PRIMARY KEY (pk)")
                marked[table] = name
            return marked[table]

        for table, (condition, params) in roots.items():
            into = mark_table(table)
            cursor.execute(
                f"INSERT INTO {into} SELECT {q(pks[table])} FROM {q(table)} "  # noqa: S608
                f"WHERE {condition} ON CONFLICT DO NOTHING",
                params,
            )
        added = True
        while added:
            added = False
            for child, column, parent, parent_column in keys:
                if parent not in marked:
                    continue
                into = mark_table(child)
                cursor.execute(
                    f"INSERT INTO {into} SELECT c.{q(pks[child])} FROM {q(child)} c "  # noqa: S608
                    f"WHERE c.{q(column)} IN (SELECT p.{q(parent_column)} FROM {q(parent)} p "
                    f"JOIN {marked[parent]} m ON m.pk = p.{q(pks[parent])}) "
                    "ON CONFLICT DO NOTHING"
                )
                added = added or cursor.rowcount > 0
        deleted = {}
        for table, name in marked.items():
            cursor.execute(
                f"DELETE FROM {q(table)} WHERE {q(pks[table])} IN (SELECT pk FROM {name})"  # noqa: S608
            )
            if cursor.rowcount:
                deleted[table] = cursor.rowcount
    return deleted
