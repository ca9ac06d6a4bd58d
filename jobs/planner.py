"""From source tables and the config to a migration plan (pure: no I/O)."""

import dataclasses
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from jobs.config import Config, TableOverride
from jobs.errors import ConfigError, PlanningError
from mapping import render
from mapping.identifiers import quote_table
from mapping.items import MAX_ITEM_BYTES, ItemLayout
from mapping.keys import (
    KeyChoiceError,
    KeySchema,
    choose_key,
    collision_risk,
    encode_composite,
    modelled_key,
    row_digest,
    row_id,
    row_key_columns,
)
from mapping.model import ModelError, SourceModel, TargetModel, item_model, parse_model
from mapping.names import (
    NameCollision,
    assign_target_names,
    display_name,
    is_valid_table_name,
    name_matches,
    render_target_name,
)
from mapping.schema import SYSTEM_VERSIONED, Column, SkippedObject, SourceTable


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
    foreign_key_notes: List[str] = field(default_factory=list)  # cascading keys: what catch-up does about them
    key_collision: Optional[str] = None  # why rows could merge into one item (counted in the load)
    model: Optional[Tuple[TargetModel, SourceModel]] = None  # a modelled table: its target and its part in it

    @property
    def identity(self) -> Tuple[str, str]:
        return self.source.identity

    @property
    def name(self) -> str:
        return display_name(self.source.database, self.source.name)

    @property
    def renamed(self) -> bool:
        return self.target != self.wanted_target

    def attribute_of_column(self, column: str) -> str:
        return self.attributes[[c.name for c in self.columns].index(column)]

    def declared_value_bytes(self) -> int:
        """The largest rendered row the declared types allow (binary grows by base64's 4/3),
        plus the synthesised key values; for estimates only."""
        total = 0
        for column in self.columns:
            declared = column.max_bytes if column.max_bytes is not None else 64
            total += declared * 4 // 3 if render.is_binary(column) else declared
        if self.key.synthesized_range:
            total += sum(self.source.column(c).max_bytes or 32 for c in self.key.range_columns)
        if self.key.synthesized_hash:
            total += 70  # sha256 hex and a duplicate ordinal
        if self.model:
            total += sum(len(t.text) + 64 for _, t in self.model[1].templates) + len(self.model[1].source)
        return total

    def layout_row(self, rendered: Sequence[Optional[str]]) -> List[Optional[str]]:
        """A rendered source row in the layout's order: its columns, then a synthesised RANGE,
        then the row id (as the first of identical rows has it). The load builds the same values
        in Spark (jobs.load.transforms), the catch-up and the estimates here."""
        values = list(rendered)
        if self.key.synthesized_range:
            position = {c.name: i for i, c in enumerate(self.columns)}
            parts = (rendered[position[c]] for c in self.key.range_columns)
            values.append(encode_composite(p for p in parts if p is not None))  # as Spark's concat_ws
        if self.key.synthesized_hash:
            values.append(row_id(row_digest(rendered), 1))
        return values

    def layout(self, null_as: str) -> ItemLayout:
        """How a rendered row (its columns, then a synthesised RANGE, then a row id) becomes an item."""
        attributes = list(self.attributes)
        if self.key.synthesized_range and self.key.range_attribute:
            attributes.append(self.key.range_attribute)
        if self.key.synthesized_hash:
            attributes.append(self.key.hash_attribute)
        key_attributes = tuple(self.attribute_of_column(c) for c in self.key.source_columns) or (
            self.key.hash_attribute,
        )
        if self.model:
            key_attributes = self.key.row_key
        return ItemLayout(
            tuple(attributes),
            self.key.hash_attribute,
            self.key.range_attribute,
            key_attributes,
            null_as,
            self.key.synthesized_hash,
            item_model(*self.model) if self.model else None,
        )


@dataclass
class Plan:
    tables: List[TablePlan] = field(default_factory=list)
    skipped: List[SkippedObject] = field(default_factory=list)  # tables that cannot be migrated: a failure
    not_migrated: List[SkippedObject] = field(default_factory=list)  # views, sequences: by design


def selected(table: SourceTable, include: Sequence[str], exclude: Sequence[str]) -> bool:
    names = (table.name, f"{table.database}.{table.name}", quote_table(table.database, table.name))

    def matches(patterns):
        return any(name_matches(n, p) for p in patterns for n in names)

    return matches(include) and not matches(exclude)


def build_plan(tables: Sequence[SourceTable], config: Config, not_migrated: Sequence[SkippedObject] = ()) -> Plan:
    plan = Plan(not_migrated=list(not_migrated))
    candidates = [t for t in tables if selected(t, config.source.tables, config.source.exclude)]
    _check_override_keys(tables, candidates, config)
    models = _models(tables, candidates, config)
    wanted: Dict[Tuple[str, str], str] = {}
    plain = [t for t in candidates if t.identity not in models]
    for table in plain:
        override = config.override_for(table.database, table.name)
        wanted[table.identity] = override.target or render_target_name(
            config.naming.template, config.naming.prefix, table.database, table.name
        )
    try:
        targets = assign_target_names((t.identity, display_name(t.database, t.name), wanted[t.identity]) for t in plain)
    except NameCollision as e:
        raise ConfigError(str(e)) from e
    _check_model_targets(models, targets, plain)
    for table in candidates:
        try:
            if table.identity in models:
                plan.tables.append(_plan_modelled(table, config, *models[table.identity]))
                continue
            plan.tables.append(_plan_table(table, config, wanted[table.identity], targets[table.identity]))
        except (KeyChoiceError, render.UnsupportedColumnType, PlanningError) as e:
            plan.skipped.append(SkippedObject(table.database, table.name, table.kind, str(e)))
    return plan


def _models(
    tables: Sequence[SourceTable], candidates: Sequence[SourceTable], config: Config
) -> Dict[Tuple[str, str], Tuple[TargetModel, SourceModel]]:
    """The conf's model, checked against the source's tables before anything is created: each
    selected modelled table's target and its part in it (a run that selects only some of a
    target's sources plans those, and their items still know the others)."""
    if not config.model:
        return {}
    by_name: Dict[str, SourceTable] = {}
    for table in tables:
        by_name.setdefault(f"{table.database}.{table.name}", table)
        by_name[quote_table(table.database, table.name)] = table

    def columns_of(source: str) -> Optional[Sequence[str]]:
        table = by_name.get(source)
        return None if table is None else [c.name for c in table.columns]

    try:
        targets = parse_model(config.model, columns_of, lambda source: row_key_columns(by_name[source]))
    except ModelError as e:
        raise ConfigError(str(e)) from e
    found = {}
    for parsed in targets:
        name = config.naming.prefix + parsed.name
        if not is_valid_table_name(name):
            raise ConfigError(f"model.{parsed.name}: {name!r} is not a valid DynamoDB table name")
        target = dataclasses.replace(parsed, name=name)
        for source in target.sources:
            found[by_name[source.source].identity] = (target, source)
    chosen = {t.identity for t in candidates}
    return {identity: part for identity, part in found.items() if identity in chosen}


def _check_model_targets(models, targets: Dict, plain: Sequence[SourceTable]) -> None:
    modelled = {target.name for target, _ in models.values()}
    for table in plain:
        if targets[table.identity] in modelled:
            raise ConfigError(
                f"{display_name(table.database, table.name)} would be written to {targets[table.identity]}, "
                "a table of the model; give it another name in the conf tables section or add it to the model"
            )


def _plan_modelled(table: SourceTable, config: Config, target: TargetModel, source: SourceModel) -> TablePlan:
    shown = display_name(table.database, table.name)
    override = config.override_for(table.database, table.name)
    if override.rename or override.key or override.target:
        raise ConfigError(
            f"conf tables.{shown}: rename, key and target do not apply to a table of the model "
            f"(model.{target.name} names its keys and table)"
        )
    excluded = set(override.exclude_columns) | set(source.exclude)
    columns = tuple(c for c in table.columns if c.name not in excluded)
    key_templates = [source.template(a) for a in target.key_attributes]
    key = modelled_key(table, target.hash, target.range, [t for t in key_templates if t is not None])
    used = [c for c in key.source_columns if c in excluded]
    if used:
        raise ConfigError(f"conf tables.{shown}.exclude_columns: {', '.join(used)} is used by a key template")
    attributes = tuple(c.name for c in columns)
    render_sql = tuple(render.render_sql(c, shown) for c in columns)
    plan = TablePlan(
        table,
        target.name,
        target.name,
        key,
        columns,
        attributes,
        render_sql,
        key_collision=collision_risk(table, key),
        model=(target, source),
    )
    plan.notes.extend(_model_notes(plan, target, source))
    plan.notes.extend(_risks(plan))
    plan.foreign_key_notes.extend(_cascading_keys(plan))
    return plan


def _model_notes(plan: TablePlan, target: TargetModel, source: SourceModel) -> List[str]:
    notes = [f"modelled into {target.name}: {plan.key.describe()}"]
    others = [s.source for s in target.sources if s is not source]
    if others:
        named = f"{target.table_attribute} = {source.source!r}"
        notes.append(f"shares {target.name} with {', '.join(others)}; its items hold {named}")
    for index in target.indexes:
        parts = [f"HASH {index.hash} = {_shown(source, index.hash)}"]
        if index.range:
            parts.append(f"RANGE {index.range} = {_shown(source, index.range)}")
        notes.append(f"index {index.name}: {', '.join(parts)}")
    if source.numbers:
        notes.append(f"written as DynamoDB numbers: {', '.join(source.numbers)}")
    if source.exclude:
        notes.append(f"left out of the items: {', '.join(source.exclude)}")
    return notes


def _shown(source: SourceModel, attribute: str) -> str:
    template = source.template(attribute)
    return repr(template.text) if template else "(not set: its items are not in the index)"


def _check_override_keys(tables: Sequence[SourceTable], candidates: Sequence[SourceTable], config: Config) -> None:
    """An override for a table that is not there is refused (a misspelt name would silently
    migrate the column it meant to leave out); one for a table not selected this run is kept
    for the runs that select it. A plain 'db.table' key that two tables print as is refused:
    it must be written `db`.`table`."""
    for key, override in config.tables.items():
        named = [t for t in tables if key in (f"{t.database}.{t.name}", quote_table(t.database, t.name))]
        if not named:
            databases = ", ".join(config.source.databases or sorted({t.database for t in tables}))
            raise ConfigError(f"conf tables key {key!r} names no table of database(s) {databases}")
        for table in named:
            _check_override_columns(key, override, table)
        owners = [t for t in candidates if f"{t.database}.{t.name}" == key]
        if len(owners) > 1:
            choices = " or ".join(quote_table(t.database, t.name) for t in owners)
            raise ConfigError(f"conf tables key {key!r} matches more than one table; write it as {choices}")


def _check_override_columns(key: str, override: TableOverride, table: SourceTable) -> None:
    known = {c.name for c in table.columns}
    named = (
        ("exclude_columns", override.exclude_columns),
        ("rename", list(override.rename)),
        ("key", override.key or []),
    )
    for setting, names in named:
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ConfigError(f"conf tables.{key}.{setting} names column(s) {unknown} that table does not have")


def _plan_table(table: SourceTable, config: Config, wanted: str, target: str) -> TablePlan:
    shown = display_name(table.database, table.name)
    override = config.override_for(table.database, table.name)
    columns = tuple(c for c in table.columns if c.name not in override.exclude_columns)
    if not columns:
        raise PlanningError(f"{shown}: every column is excluded")

    def attribute_of(column: str) -> str:
        return override.rename.get(column, column)

    key = choose_key(
        table, attribute_of, config.naming.composite_range_attribute, config.naming.row_id_attribute, override.key
    )
    excluded_keys = [c for c in key.source_columns if c in override.exclude_columns]
    if excluded_keys:
        raise PlanningError(f"{shown}: key column(s) {excluded_keys} cannot be excluded")
    attributes = tuple(attribute_of(c.name) for c in columns)
    duplicates = sorted({a for a in attributes if attributes.count(a) > 1})
    if duplicates:
        raise PlanningError(f"{shown}: renames give duplicate attribute name(s) {duplicates}")
    render_sql = tuple(render.render_sql(c, shown) for c in columns)
    plan = TablePlan(
        table, target, wanted, key, columns, attributes, render_sql, key_collision=collision_risk(table, key)
    )
    plan.notes.extend(_risks(plan))
    plan.foreign_key_notes.extend(_cascading_keys(plan))
    return plan


def _risks(plan: TablePlan) -> List[str]:
    table = plan.source
    notes = []
    if table.kind == SYSTEM_VERSIONED:
        notes.append("system-versioned table: its current rows are migrated, not its history")
    if plan.renamed:
        notes.append(f"target name {plan.wanted_target!r} is not a valid DynamoDB name; using {plan.target!r}")
    if plan.key.synthesized_hash:
        notes.append("no primary key and no NOT NULL unique key: items keyed by a hash of the row content")
    elif not table.primary_key:
        notes.append(f"no primary key: keyed by {plan.key.origin}")
    if plan.key_collision:
        notes.append(
            f"WARNING {plan.key_collision}; merged rows are counted in the report "
            f"(choose another key with tables.<db.table>.key)"
        )
    if plan.key.synthesized_range:
        notes.append(
            f"{1 + len(plan.key.range_columns)}-column key: RANGE {plan.key.range_attribute!r} "
            f"encodes {', '.join(plan.key.range_columns)}"
        )
    if table.max_row_bytes > MAX_ITEM_BYTES:
        notes.append(f"rows may exceed 400 KB (declared maximum ~{table.max_row_bytes} bytes): such rows go to rejects")
    for column in plan.columns:
        note = render.rendering_note(column)
        if note:
            notes.append(note)
    return notes


def _cascading_keys(plan: TablePlan) -> List[str]:
    notes = []
    migrated = {c.name for c in plan.columns}
    for foreign_key in plan.source.foreign_keys:
        if not foreign_key.cascades:
            continue
        if set(foreign_key.columns) <= migrated:
            notes.append(f"{foreign_key.describe()}: catch-up derives the cascaded changes the binlog does not log")
        else:
            notes.append(
                f"{foreign_key.describe()}: its columns are not all migrated, so catch-up cannot find the items a "
                f"cascade changes and sets the table aside for reload when the parent's keys change"
            )
    return notes
