"""From source tables and the config to a migration plan (pure: no I/O)."""
import fnmatch
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

from jobs.config import Config
from jobs.errors import ConfigError
from mapping import render
from mapping.keys import KeyChoiceError, KeySchema, choose_key
from mapping.items import MAX_ITEM_BYTES
from mapping.names import NameCollision, assign_target_names, render_target_name
from mapping.partitioning import Partitioning
from mapping.schema import Column, SourceTable


@dataclass
class TablePlan:
    source: SourceTable
    target: str
    wanted_target: str
    key: KeySchema
    columns: Tuple[Column, ...]  # migrated columns, in table order
    attributes: Tuple[str, ...]  # DynamoDB attribute name of each migrated column
    render_sql: Tuple[str, ...]  # SQL expression MySQL evaluates for each migrated column
    notes: List[str] = field(default_factory=list)  # risks and decisions shown in the plan
    partitioning: Optional[Partitioning] = None

    @property
    def name(self) -> str:
        return self.source.qualified_name

    @property
    def renamed(self) -> bool:
        return self.target != self.wanted_target

    def attribute_of_column(self, column: str) -> str:
        return self.attributes[[c.name for c in self.columns].index(column)]


@dataclass
class Plan:
    tables: List[TablePlan] = field(default_factory=list)
    skipped: List[Tuple[str, str]] = field(default_factory=list)  # (db.table, reason)


def selected(table: SourceTable, include: Sequence[str], exclude: Sequence[str]) -> bool:
    def matches(patterns):
        return any(fnmatch.fnmatchcase(table.name, p) or fnmatch.fnmatchcase(table.qualified_name, p)
                   for p in patterns)
    return matches(include) and not matches(exclude)


def build_plan(tables: Sequence[SourceTable], config: Config) -> Plan:
    plan = Plan()
    candidates = [t for t in tables if selected(t, config.source.tables, config.source.exclude)]
    wanted = {}
    for table in candidates:
        override = config.override_for(table.database, table.name)
        wanted[table.qualified_name] = override.target or render_target_name(
            config.naming.template, config.naming.prefix, table.database, table.name)
    try:
        targets = assign_target_names(wanted.items())
    except NameCollision as e:
        raise ConfigError(str(e)) from e
    for table in candidates:
        try:
            plan.tables.append(_plan_table(table, config, wanted[table.qualified_name], targets[table.qualified_name]))
        except (KeyChoiceError, render.UnsupportedColumnType, ValueError) as e:
            plan.skipped.append((table.qualified_name, str(e)))
    return plan


def _plan_table(table: SourceTable, config: Config, wanted: str, target: str) -> TablePlan:
    override = config.override_for(table.database, table.name)
    known = {c.name for c in table.columns}
    for setting, names in (("exclude_columns", override.exclude_columns), ("rename", list(override.rename))):
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"tables.{table.qualified_name}.{setting} names unknown column(s) {unknown}")
    columns = tuple(c for c in table.columns if c.name not in override.exclude_columns)
    if not columns:
        raise ValueError(f"{table.qualified_name}: every column is excluded")

    def attribute_of(column: str) -> str:
        return override.rename.get(column, column)

    key = choose_key(table, attribute_of, config.naming.composite_range_attribute,
                     config.naming.row_id_attribute, override.key)
    excluded_keys = [c for c in key.source_columns if c in override.exclude_columns]
    if excluded_keys:
        raise ValueError(f"{table.qualified_name}: key column(s) {excluded_keys} cannot be excluded")
    attributes = tuple(attribute_of(c.name) for c in columns)
    duplicates = sorted({a for a in attributes if attributes.count(a) > 1})
    if duplicates:
        raise ValueError(f"{table.qualified_name}: renames give duplicate attribute name(s) {duplicates}")
    render_sql = tuple(render.render_sql(c, table.qualified_name) for c in columns)
    plan = TablePlan(table, target, wanted, key, columns, attributes, render_sql)
    plan.notes.extend(_risks(plan))
    return plan


def _risks(plan: TablePlan) -> List[str]:
    table = plan.source
    notes = []
    if plan.renamed:
        notes.append(f"target name {plan.wanted_target!r} is not a valid DynamoDB name; using {plan.target!r}")
    if plan.key.synthesized_hash:
        notes.append("no primary key and no NOT NULL unique key: items keyed by a hash of the row content")
    elif not table.primary_key:
        notes.append(f"no primary key: keyed by {plan.key.origin}")
    if plan.key.synthesized_range:
        notes.append(f"{1 + len(plan.key.range_columns)}-column key: RANGE {plan.key.range_attribute!r} "
                     f"encodes {', '.join(plan.key.range_columns)}")
    if table.max_row_bytes > MAX_ITEM_BYTES:
        notes.append(f"rows may exceed 400 KB (declared maximum ~{table.max_row_bytes} bytes): such rows go to rejects")
    for column in plan.columns:
        note = render.rendering_note(column)
        if note:
            notes.append(note)
    return notes
