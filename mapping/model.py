"""The `model` section of the conf, as pure rules: several source tables into one DynamoDB table,
keys from templates, columns written as numbers or left out, secondary indexes; and how a
modelled row's item gets its key attributes, numbers and source-table attribute (ItemModel).

    "model": {"<target>": {"hash": "pk", "range": "sk",
                           "from": {"<db>.<table>": {"pk": "<template>", "sk": "<template>",
                                                     "<index attribute>": "<template>",
                                                     "numbers": [...], "exclude": [...]}},
                           "indexes": {"<name>": {"hash": "<attribute>", "range": "<attribute>"}},
                           "table_attribute": "_table"}}
"""

import re
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from mapping.templates import Template, TemplateError, could_collide, parse_template, render, unreadable

TABLE_ATTRIBUTE = "_table"
MAX_NUMBER_DIGITS = 38  # DynamoDB keeps numbers to 38 significant digits
_LISTS = ("numbers", "exclude")


class ModelError(ValueError):
    """A model the run cannot use; the message is one line naming where."""


@dataclass(frozen=True)
class Index:
    name: str
    hash: str
    range: Optional[str] = None


@dataclass(frozen=True)
class SourceModel:
    source: str  # "db.table"
    templates: Tuple[Tuple[str, Template], ...]  # (attribute, its template): the keys', then the indexes'
    numbers: Tuple[str, ...] = ()
    exclude: Tuple[str, ...] = ()

    def template(self, attribute: str) -> Optional[Template]:
        return dict(self.templates).get(attribute)


@dataclass(frozen=True)
class TargetModel:
    name: str
    hash: str
    range: Optional[str]
    sources: Tuple[SourceModel, ...]
    indexes: Tuple[Index, ...] = ()
    table_attribute: str = TABLE_ATTRIBUTE

    @property
    def key_attributes(self) -> Tuple[str, ...]:
        return (self.hash,) + ((self.range,) if self.range else ())


def parse_model(
    section: Mapping[str, Any],
    columns_of: Callable[[str], Optional[Sequence[str]]],
    row_key_of: Optional[Callable[[str], Sequence[str]]] = None,
) -> List[TargetModel]:
    """Every target of the section, checked against the sources' columns (columns_of("db.table"):
    None when the table is not planned) and key columns (row_key_of: its primary key, or the
    NOT NULL unique key that stands in; () when it has none; None: not checked). Raises ModelError naming the
    first problem."""
    if not isinstance(section, Mapping):
        raise ModelError("model: expected an object of target tables")
    targets = [_target(name, spec, columns_of) for name, spec in section.items()]
    for target in targets:
        for source in target.sources:
            if row_key_of is not None:
                _check_row_key(target, source, row_key_of(source.source))
    claimed: Dict[str, str] = {}
    for target in targets:
        for source in target.sources:
            if source.source in claimed:
                raise ModelError(
                    f"model: {source.source} is a source of both {claimed[source.source]} and {target.name}; "
                    "a table goes into one target"
                )
            claimed[source.source] = target.name
        problem = collision(target)
        if problem:
            raise ModelError(problem)
    return targets


def _target(name: str, spec: Any, columns_of: Callable[[str], Optional[Sequence[str]]]) -> TargetModel:
    where = f"model.{name}"
    if not isinstance(spec, Mapping):
        raise ModelError(f"{where}: expected an object with hash, from (and range, indexes)")
    unknown = set(spec) - {"hash", "range", "from", "indexes", "table_attribute"}
    if unknown:
        raise ModelError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}")
    hash_attribute, range_attribute = spec.get("hash"), spec.get("range")
    if not isinstance(hash_attribute, str) or not hash_attribute:
        raise ModelError(f"{where}.hash: expected the name of the HASH key attribute")
    if range_attribute is not None and (not isinstance(range_attribute, str) or not range_attribute):
        raise ModelError(f"{where}.range: expected the name of the RANGE key attribute")
    indexes = tuple(_index(f"{where}.indexes.{n}", n, i) for n, i in (spec.get("indexes") or {}).items())
    index_attributes = {a for i in indexes for a in (i.hash, i.range) if a}
    sources = spec.get("from")
    if not isinstance(sources, Mapping) or not sources:
        raise ModelError(f'{where}.from: expected at least one source table, as "db.table": {{...}}')
    key_attributes = (hash_attribute,) + ((range_attribute,) if range_attribute else ())
    table_attribute = spec.get("table_attribute", TABLE_ATTRIBUTE)
    parsed = tuple(
        _source(f"{where}.from.{source}", source, value, key_attributes, index_attributes, columns_of)
        for source, value in sources.items()
    )
    for source in parsed:
        if table_attribute in dict(source.templates) or table_attribute in (columns_of(source.source) or ()):
            raise ModelError(
                f"{where}: the source-table attribute {table_attribute!r} is also a key or a column of "
                f"{source.source}; choose another with table_attribute"
            )
    return TargetModel(name, hash_attribute, range_attribute, parsed, indexes, table_attribute)


def _index(where: str, name: str, spec: Any) -> Index:
    if not isinstance(spec, Mapping) or not isinstance(spec.get("hash"), str):
        raise ModelError(f'{where}: expected {{"hash": attribute, "range": attribute}}')
    return Index(name, spec["hash"], spec.get("range"))


def _source(
    where: str,
    source: str,
    spec: Any,
    key_attributes: Sequence[str],
    index_attributes: Set[str],
    columns_of: Callable[[str], Optional[Sequence[str]]],
) -> SourceModel:
    columns = columns_of(source)
    if columns is None:
        raise ModelError(f"{where}: no such table in the source (name it as db.table)")
    if not isinstance(spec, Mapping):
        raise ModelError(f"{where}: expected an object of key templates")
    lists = {}
    for name in _LISTS:
        listed = spec.get(name, [])
        if not isinstance(listed, list) or not all(isinstance(c, str) for c in listed):
            raise ModelError(f"{where}.{name}: expected a list of column names")
        missing = [c for c in listed if c not in columns]
        if missing:
            raise ModelError(f"{where}.{name}: {', '.join(missing)} is not a column of {source}")
        lists[name] = tuple(listed)
    templates = []
    for attribute in key_attributes:
        if attribute not in spec:
            raise ModelError(f"{where}: no template for the key attribute {attribute!r}")
    for attribute, text in spec.items():
        if attribute in _LISTS:
            continue
        if attribute not in key_attributes and attribute not in index_attributes:
            raise ModelError(
                f"{where}.{attribute}: not a key attribute of the target nor of one of its indexes "
                "(columns are attributes already; a template makes only keys)"
            )
        if not isinstance(text, str):
            raise ModelError(f"{where}.{attribute}: expected a template string")
        try:
            templates.append((attribute, parse_template(text, columns, f"{where}.{attribute}")))
        except TemplateError as e:
            raise ModelError(str(e)) from e
        if attribute in columns:
            raise ModelError(
                f"{where}.{attribute}: {source} has a column of that name; the key attribute would hide it"
            )
        why = unreadable(templates[-1][1]) if attribute in key_attributes else None
        if why:
            raise ModelError(f"{where}.{attribute}: template {text!r} cannot be read back into its columns: {why}")
    used = {c for _, template in templates for c in template.columns}
    hidden = sorted(used & set(lists["exclude"]))
    if hidden:
        raise ModelError(f"{where}.exclude: {', '.join(hidden)} is used by a key template, so it stays in the item")
    ordered = sorted(templates, key=lambda pair: (pair[0] not in key_attributes, pair[0]))
    return SourceModel(source, tuple(ordered), lists["numbers"], lists["exclude"])


def _check_row_key(target: TargetModel, source: SourceModel, row_key: Sequence[str]) -> None:
    """The key templates must use every column of the row's own key: then each row is one item,
    and an item's key names the row it stands for (catch-up and live verification read it back)."""
    where = f"model.{target.name}.from.{source.source}"
    if not row_key:
        raise ModelError(
            f"{where}: the table has no primary key nor NOT NULL unique key, so no key template can name one row"
        )
    templates = [source.template(a) for a in target.key_attributes]
    used = {c for template in templates if template is not None for c in template.columns}
    missing = [c for c in row_key if c not in used]
    if missing:
        raise ModelError(
            f"{where}: the key templates must use the table's key column(s) {', '.join(row_key)} "
            f"(missing {', '.join(missing)}), so each row is one item"
        )


def collision(target: TargetModel) -> Optional[str]:
    """One line naming two sources whose keys could be the same item, or None. Kept apart only
    when some key attribute's templates cannot meet (mapping.templates.could_collide)."""
    sources = target.sources
    for number, one in enumerate(sources):
        for other in sources[number + 1 :]:
            pairs = [(a, one.template(a), other.template(a)) for a in target.key_attributes]
            if all(could_collide(x, y) for _, x, y in pairs if x is not None and y is not None):
                shown = "; ".join(f"{a}: {x.text!r} and {y.text!r}" for a, x, y in pairs if x and y)
                return (
                    f"model.{target.name}: {one.source} and {other.source} can make the same key ({shown}); "
                    "give one of the key attributes a literal prefix the other does not start with"
                )
    return None


_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def dynamodb_number(text: str) -> Tuple[Optional[str], Optional[str]]:
    """(the number as DynamoDB gives it back, None) or (None, why DynamoDB cannot hold it exactly).
    DynamoDB keeps a number's value, not its text: "12.50" comes back as "12.5", so comparisons
    use this form."""
    if not _NUMBER.fullmatch(text.strip()):
        return None, f"{text!r} is not a number"
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None, f"{text!r} is not a number"
    if value.is_zero():
        return "0", None
    exact = value.normalize(_EXACT)  # the default context would round to 28 digits
    digits = len(exact.as_tuple().digits)
    if digits > MAX_NUMBER_DIGITS:
        return None, f"{text!r} has {digits} significant digits, over DynamoDB's {MAX_NUMBER_DIGITS}"
    if not -130 <= exact.adjusted() <= 125:
        return None, f"{text!r} is outside DynamoDB's range (1E-130 to 9.99E+125)"
    return format(exact, "f"), None


_EXACT = Context(prec=1000, Emin=-100000, Emax=100000)


@dataclass(frozen=True)
class ItemModel:
    """What a modelled source's rows need, beyond their columns, to become items: plain values,
    shipped to the executors with the item layout."""

    source: str  # "db.table": the value of table_attribute in its items
    table_attribute: str
    templates: Tuple[Tuple[str, Template], ...]  # the key attributes' first, then the indexes'
    key_attributes: Tuple[str, ...]
    numbers: Tuple[str, ...] = ()
    sources: Tuple[str, ...] = ()  # every source of the target
    claims_strangers: bool = False  # the target's first source also verifies items no source claims

    def claims(self, table: Optional[str]) -> bool:
        """Whether an item with this source-table attribute is this source's to verify and repair."""
        return table == self.source or (self.claims_strangers and table not in self.sources)


def item_model(target: TargetModel, source: SourceModel) -> ItemModel:
    return ItemModel(
        source.source,
        target.table_attribute,
        source.templates,
        target.key_attributes,
        source.numbers,
        tuple(s.source for s in target.sources),
        source is target.sources[0],
    )


def model_attributes(
    item: Dict[str, Optional[str]], row: Mapping[str, Optional[str]], model: ItemModel
) -> Optional[str]:
    """Adds a modelled row's key and index attributes and source-table attribute to its item and
    writes its number columns in DynamoDB's form; returns why the row cannot be an item, or
    None. An index attribute whose columns include a NULL is left out (a sparse index)."""
    for attribute, template in model.templates:
        keyed = attribute in model.key_attributes
        if not keyed and any(row.get(c) is None for c in template.columns):
            continue
        value, why = render(template, row)
        if why is not None:
            role = ("HASH" if attribute == model.key_attributes[0] else "RANGE") if keyed else "index"
            return f"{role} key attribute {attribute!r}: {why}"
        item[attribute] = value
    for column in model.numbers:
        text = item.get(column)
        if text is not None:
            number, why = dynamodb_number(text)
            if why is not None:
                return f"number column {column!r}: {why}"
            item[column] = number
    item[model.table_attribute] = model.source
    return None
