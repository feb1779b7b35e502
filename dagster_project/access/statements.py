"""What a governed query may say, decided on its parsed form (sqlglot), before it runs.

One read-only statement (a SELECT, or a union of them), reading only the tables of the tier the
request was granted, by their own names: no table functions (read_csv, glob, query_table ...),
no file names in FROM, no other catalog or tier, no ATTACH, COPY, SET, PRAGMA, INSTALL, LOAD or
CALL. What runs is the statement as sqlglot writes it back, not the text as typed, so the
statement checked is the statement run even where the two parsers would read a text
differently. The sandboxed connection (sandbox.py) holds the same line a second time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.lineage import lineage
from sqlglot.optimizer.scope import traverse_scope

from dagster_project.access.policy import TIERS, tier_label

DIALECT = "duckdb"
# Functions that read the machine, the storage or the catalog rather than the rows the grant
# shows, or the hub's own keyed functions. The sandbox holds only the grant's rows, so these
# are a second line: `stats()` read storage statistics beneath a row filter, when the sandbox
# was views over the file; json_serialize_plan and its kin plan or run SQL given as a string,
# which no parser of the statement sees; `setseed()` made random() repeatable.
REFUSED_FUNCTIONS = {
    "getenv", "current_setting", "current_query", "read_text", "read_blob", "current_user",
    "stats", "pg_get_viewdef", "pg_get_expr", "pseudonym", "project_pseudonym", "setseed",
}  # fmt: skip
REFUSED_PREFIXES = ("duckdb_", "pg_", "has_", "sql_", "json_serialize", "json_deserialize",
                    "json_execute")  # fmt: skip
MAX_LENGTH = 100_000  # characters of one statement
# DuckDB plans a statement before it can be interrupted, and inlined CTEs that refer to each
# other twice grow its plan exponentially: statements are kept small enough to plan quickly.
MAX_TABLES, MAX_CTES = 32, 16
MAX_MEASURES = 4  # aggregates in one export: each is checked in Python, a median slowly
PSEUDONYMS = {"person_key", "event_key"}  # Level 2's keys: one person or event each
AGGREGATES = {exp.Count: "count", exp.Sum: "sum", exp.Avg: "mean", exp.Median: "median"}

logging.getLogger("sqlglot").setLevel(logging.ERROR)  # its fallback notices are not ours


class Refused(ValueError):
    """A statement the service will not run: the message says why."""


@dataclass(frozen=True)
class Statement:
    tree: exp.Query
    tables: tuple[str, ...]  # the tier's tables it reads, as level2.events

    @property
    def sql(self) -> str:
        return self.tree.sql(dialect=DIALECT)


def parse(text: str, tier: str, tables: set[str]) -> Statement:
    """`text` checked against the tier and the tables the grant shows there."""
    if len(text) > MAX_LENGTH:
        raise Refused(f"a statement is at most {MAX_LENGTH:,} characters")
    try:
        trees = [t for t in sqlglot.parse(text, dialect=DIALECT) if t is not None]
    except sqlglot.errors.ParseError as e:
        raise Refused(f"the statement does not parse: {str(e).splitlines()[0]}") from None
    except RecursionError:
        raise Refused("the statement is nested too deeply") from None
    if len(trees) != 1:
        raise Refused(f"one statement per request ({len(trees)} given)")
    [tree] = trees
    if not isinstance(tree, exp.Query) or isinstance(tree, exp.Pivot):
        raise Refused(
            f"only a SELECT is allowed ({type(tree).__name__.upper()} is not read-only "
            "or reaches outside the tier)"
        )
    if tree.find(exp.Into):
        raise Refused("SELECT ... INTO writes a table: only reading is allowed")
    placed = _placed(tree)
    ctes = list(tree.find_all(exp.CTE))
    if len(placed) > MAX_TABLES or len(ctes) > MAX_CTES:
        raise Refused(f"a statement names at most {MAX_TABLES} tables and {MAX_CTES} CTEs")
    if any(c.args.get("materialized") is False for c in ctes):
        raise Refused("NOT MATERIALIZED is not allowed: it can make a plan too big to make")
    read = {_table(table, tier, tables, cte) for table, cte in placed}
    for call in tree.find_all(exp.Func):
        name = (call.name if isinstance(call, exp.Anonymous) else call.sql_name()).lower()
        if name in REFUSED_FUNCTIONS or name.startswith(REFUSED_PREFIXES):
            raise Refused(f"{name}() reads the machine or the storage, not the tier's rows")
    return Statement(tree, tuple(sorted(read - {None})))


def _placed(tree: exp.Query) -> list[tuple[exp.Table, bool]]:
    """Every table the statement names, and whether it is a CTE visible where it is named
    (by sqlglot's scopes: a CTE named in one subquery does not cover a table of the same name
    outside it). A table the scopes do not place is refused."""
    try:
        placed = {
            id(table): (table, not table.db and table.name in scope.cte_sources)
            for scope in traverse_scope(tree)
            for table in scope.tables
        }
    except (sqlglot.errors.SqlglotError, RecursionError):
        raise Refused("the statement's tables cannot be placed") from None
    if any(id(table) not in placed for table in tree.find_all(exp.Table)):
        raise Refused("the statement names a table where the parser cannot place it")
    return list(placed.values())


def _table(table: exp.Table, tier: str, tables: set[str], cte: bool) -> str | None:
    if not isinstance(table.this, exp.Identifier):
        raise Refused(
            f"table functions such as {table.this.sql(dialect=DIALECT)[:40]} are not allowed: "
            f"read the {tier_label(tier)} tables by name"
        )
    name, schema, catalog = table.name.lower(), table.db.lower(), table.catalog.lower()
    if cte:
        return None
    if catalog or (schema and schema not in TIERS):
        raise Refused(f"{table.sql(dialect=DIALECT)} is not a table of the hub's tiers")
    if schema and schema != tier:
        raise Refused(
            f"{schema}.{name} is in {tier_label(schema)}; this request is at {tier_label(tier)}"
        )
    if name not in tables:
        shown = ", ".join(sorted(tables)) or "none"
        raise Refused(
            f"{name} is not a {tier_label(tier)} table this request may read (it may read: {shown})"
        )
    return f"{tier}.{name}"


# --- Level 3: whose data a result holds --------------------------------------------------------


def check_person_column(statement: Statement, schema: dict) -> None:
    """A Level 3 statement that reads a table of people is a lookup whose every row is about one
    person, named by the `person_id` it returns unchanged, so the audit trail can list whose
    data each request returned (a subject access request reads it): one SELECT, without
    subqueries, CTEs, aggregates or window functions, its tables of people joined on
    person_id. `schema` is {tier: {table: {column: type}}}."""
    if not about_people(statement, schema):
        return
    reason = (
        "a Level 3 statement about people is a lookup that returns their person_id "
        "unchanged, so the audit trail records whose data was seen: {}"
    )
    tree = statement.tree
    if not isinstance(tree, exp.Select) or tree.find(exp.CTE, exp.Subquery, exp.Union):
        raise Refused(reason.format("one SELECT, with no subquery, CTE or UNION"))
    if tree.find(exp.AggFunc, exp.Window) or tree.args.get("group"):
        raise Refused(reason.format("no aggregates (counts of people belong to Level 1)"))
    if sum(1 for s in tree.find_all(exp.Select)) > 1:
        raise Refused(reason.format("one SELECT, with no subquery"))
    for join in tree.args.get("joins") or []:
        # An outer join's unmatched rows come back without a person_id the trail could name.
        if join.side or join.kind not in ("", "INNER") or not _on_person_id(join):
            raise Refused(reason.format("tables of people are inner-joined on person_id"))
    try:
        node = lineage("person_id", tree, schema=schema, dialect=DIALECT)
    except Exception:  # sqlglot raises several kinds for a column it cannot trace
        raise Refused(reason.format("no person_id column is returned")) from None
    for step in node.walk():
        expression = step.expression
        if step.downstream:
            if isinstance(expression, exp.Alias):
                expression = expression.this
            if not isinstance(expression, exp.Column):
                raise Refused(reason.format("person_id is returned unchanged"))
        elif not step.name.endswith(".person_id"):
            raise Refused(reason.format("the person_id column is a table's person_id"))


def about_people(statement: Statement, schema: dict) -> bool:
    """Whether the statement reads a table of people (one with a person_id)."""
    return any("person_id" in _columns(schema, t) for t in statement.tables)


def _on_person_id(join: exp.Join) -> bool:
    """Whether a join is USING (person_id) or ON an equality of the joined table's person_id
    with another table's."""
    using = join.args.get("using") or []
    if using:
        return [u.name.lower() for u in using] == ["person_id"]
    condition = join.args.get("on")
    if condition is None:
        return False
    equalities = condition.flatten() if isinstance(condition, exp.And) else [condition]
    return any(_joins_person(e, join.this.alias_or_name) for e in equalities)


def _joins_person(condition: exp.Expression, joined: str) -> bool:
    """`joined.person_id = other.person_id`, either way round."""
    if not isinstance(condition, exp.EQ):
        return False
    sides = (condition.left, condition.right)
    if not all(isinstance(s, exp.Column) and s.name.lower() == "person_id" for s in sides):
        return False
    tables = {s.table.lower() for s in sides}  # DuckDB's names ignore case
    return joined.lower() in tables and len(tables) == 2 and "" not in tables


def _columns(schema: dict, table: str) -> dict:
    tier, name = table.split(".")
    return schema.get(tier, {}).get(name, {})


def _groups(key: exp.Expression, body: exp.Expression, name: str, position: int) -> bool:
    """Whether GROUP BY's `key` is this output column: the same expression, its name, or
    its position."""
    if isinstance(key, exp.Literal) and key.is_int:
        return int(key.this) == position + 1
    return key == body or (isinstance(key, exp.Column) and not key.table and key.name == name)


# --- the airlock: an aggregate statement, taken apart ------------------------------------------


@dataclass(frozen=True)
class Aggregate:
    """An export's statement as the airlock checks it: the rows it groups (one per record,
    with each grouping value and each aggregate's argument) and what it computes of them."""

    rows_sql: str
    by: tuple[str, ...]
    measures: tuple[tuple[str, str, str | None], ...]  # (output name, function, rows column)


def aggregate(statement: Statement, columns: set[str]) -> Aggregate:
    """Refuse any export that is not one grouping of one table's rows, by some of its columns,
    into counts, sums, means or medians of its columns: record-level rows never leave, and the
    checker needs each cell's contributions. `columns` are the table's. Only columns as
    stored, anywhere in the statement: an attacker hid counts in expressions (`sum(100 + x)`),
    in select-list aliases (`0.5 as c, sum(c)`) and in set-returning keys (`unnest([1, 1])`
    copied each record eight times past the threshold)."""
    tree = statement.tree.copy()
    if not isinstance(tree, exp.Select):
        raise Refused("an export is one SELECT ... GROUP BY (no UNION)")
    tree.set("order", None)  # the checked table has an order of its own
    if tree.find(exp.CTE, exp.Subquery) or sum(1 for _ in tree.find_all(exp.Select)) > 1:
        raise Refused("an export's statement has no subqueries or CTEs: each is a table unchecked")
    source = tree.args.get("from_") or tree.args.get("from")
    if tree.args.get("joins") or len(statement.tables) != 1 or source is None:
        raise Refused("an export groups the rows of one table: a join can count a record twice")
    alias = source.this.args.get("alias")
    if alias is not None and alias.columns:
        raise Refused("an export names the table's columns as they are (no t(a, b) aliases)")
    if tree.find(exp.Unnest, exp.UDTF, exp.Explode):
        raise Refused("an export has no set-returning functions: each copies records")
    for column in tree.find_all(exp.Column):
        name = column.name.lower()
        if name in PSEUDONYMS:
            raise Refused(f"an export does not use {column.name}: a key is one record")
        if name not in columns:
            raise Refused(
                f"{column.name!r} is not a column of {statement.tables[0]}: an export uses "
                "the table's columns as they are, not expressions or aliases"
            )
    for clause in ("having", "qualify", "distinct"):
        if tree.args.get(clause):
            raise Refused(f"an export's statement has no {clause.upper()}")
    if tree.find(exp.Window):
        raise Refused("an export's statement has no window functions")
    group = tree.args.get("group")
    keys = group.expressions if group else []
    every = bool(group and group.args.get("all"))  # GROUP BY ALL: every column not aggregated
    by, measures, inner, shown = [], [], [], set()
    for i, projection in enumerate(tree.expressions):
        body = projection.this if isinstance(projection, exp.Alias) else projection
        name = projection.alias_or_name if isinstance(body, exp.Column) else None
        name = name or projection.alias or body.sql(dialect=DIALECT)
        if isinstance(body, exp.Column):
            if not every and not any(_groups(k, body, name, i) for k in keys):
                raise Refused(
                    f"output column {name!r} is neither grouped by nor an aggregate: "
                    "record-level rows do not leave through the airlock"
                )
            by.append(name)
            shown.add(body.name.lower())
            inner.append(exp.alias_(body.copy(), name, quoted=True))
            continue
        if type(body) not in AGGREGATES:
            raise Refused(
                f"output column {name!r} must be a column grouped by, or one count, sum, avg or "
                "median of a column: record-level rows do not leave through the airlock, and "
                "min, max and arithmetic on aggregates publish records"
            )
        function = AGGREGATES[type(body)]
        argument = body.this
        if function == "count":
            if isinstance(argument, exp.Star):
                measures.append((name, "count", None))
                continue
            if not isinstance(argument, exp.Distinct):
                raise Refused(f"{name!r}: use count(*) or count(DISTINCT column)")
            function, argument = "count_distinct", argument.expressions[0]
        if not isinstance(argument, exp.Column):
            raise Refused(
                f"{name!r}: an aggregate takes a column as it is (an expression can hide a "
                "count in a sum)"
            )
        column = f"_m{len(measures)}"
        measures.append((name, function, column))
        inner.append(exp.alias_(argument.copy(), column, quoted=True))
    for key in keys:
        if not isinstance(key, exp.Column | exp.Literal):
            raise Refused("an export groups by columns as they are (or their positions)")
        if isinstance(key, exp.Column) and key.name.lower() not in shown:
            # The table checked would be grouped otherwise than the statement says.
            raise Refused(f"an export shows every column it groups by ({key.name} is not shown)")
    if len(measures) > MAX_MEASURES:
        raise Refused(f"an export computes at most {MAX_MEASURES} aggregates")
    if not measures:
        raise Refused("an export computes at least one count, sum, avg or median")
    rows = tree
    rows.set("expressions", inner or [exp.Literal.number(1)])
    for clause in ("group", "order", "limit", "offset"):
        rows.set(clause, None)
    return Aggregate(rows.sql(dialect=DIALECT), tuple(by), tuple(measures))
