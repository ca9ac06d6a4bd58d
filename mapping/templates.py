"""Key templates of the `model` section: how a row's columns make a modelled item's key
attributes ("CUSTOMER#{customer_id}", "RENTAL#{rental_id:010}").

A template is literal text and fields. `{column}` is the column's value as the job renders it
(the same text the item's attribute holds); `{column:0N}` left-pads a non-negative integer with
zeros to N digits, so that sort keys order numerically. `{{` and `}}` are a literal brace.

A value is put into the key with `\\` and `#` escaped (`\\\\`, `\\#`): `#` is how templates
separate their parts, and a value holding one could otherwise make two rows' keys the same
("A#{a}#{b}" with a = "1#2", b = "3" and with a = "1", b = "2#3"). Values without either
character, which is nearly all of them, appear as they are.
"""

import re
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

ESCAPE = "\\"
SEPARATOR = "#"
_FIELD = re.compile(r"\{([^{}:]+)(?::0([1-9][0-9]?))?\}")


class TemplateError(ValueError):
    """A template that cannot be used; the message names where it is."""


@dataclass(frozen=True)
class Field:
    column: str
    width: Optional[int] = None  # {column:0N}: zero-padded to N digits


Part = Union[str, Field]


@dataclass(frozen=True)
class Template:
    text: str
    parts: Tuple[Part, ...]

    @property
    def columns(self) -> Tuple[str, ...]:
        return tuple(p.column for p in self.parts if isinstance(p, Field))

    @property
    def literal_prefix(self) -> str:
        """The literal text every key of this template starts with."""
        prefix = []
        for part in self.parts:
            if isinstance(part, Field):
                break
            prefix.append(part)
        return "".join(prefix)

    @property
    def is_literal(self) -> bool:
        return not self.columns


def parse_template(text: str, columns: Sequence[str], where: str) -> Template:
    """The template's parts; TemplateError (naming `where`) for a column the row does not have,
    a malformed field or a stray brace."""
    parts: List[Part] = []
    literal: List[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        if text.startswith("{{", position) or text.startswith("}}", position):
            literal.append(char)
            position += 2
            continue
        if char == "}":
            raise TemplateError(f"{where}: template {text!r} has a '}}' with no '{{' (a literal brace is '}}}}')")
        if char != "{":
            literal.append(char)
            position += 1
            continue
        match = _FIELD.match(text, position)
        if match is None:
            raise TemplateError(
                f"{where}: template {text!r} has a malformed field at position {position} "
                "(use {column} or {column:0N}; a literal brace is '{{')"
            )
        column, width = match.group(1), match.group(2)
        if column not in columns:
            raise TemplateError(
                f"{where}: template {text!r} uses column {column!r}, which its table does not have "
                "(a template may use only the columns of its own row)"
            )
        if literal:
            parts.append("".join(literal))
            literal = []
        parts.append(Field(column, int(width) if width else None))
        position = match.end()
    if literal:
        parts.append("".join(literal))
    return Template(text, tuple(parts))


def escape_value(value: str) -> str:
    if ESCAPE not in value and SEPARATOR not in value:
        return value
    return value.replace(ESCAPE, ESCAPE + ESCAPE).replace(SEPARATOR, ESCAPE + SEPARATOR)


def padded(value: str, width: int) -> Tuple[Optional[str], Optional[str]]:
    """(the value zero-padded to width digits, None) or (None, why it cannot be)."""
    if not value.isascii() or not value.isdigit():
        what = "negative" if value.startswith("-") else "not a whole number"
        return None, f"is {value!r}, {what}: a {{:0{width}}} field takes a non-negative integer"
    digits = value.lstrip("0") or "0"
    if len(digits) > width:
        return None, f"is {value!r}, wider than the {width} digits of its {{:0{width}}} field"
    return digits.rjust(width, "0"), None


def render(template: Template, row: Mapping[str, Optional[str]]) -> Tuple[Optional[str], Optional[str]]:
    """(the key text, None), or (None, why the row cannot have this key: a reject reason that
    names the template and the column)."""
    out = []
    for part in template.parts:
        if isinstance(part, str):
            out.append(part)
            continue
        value = row.get(part.column)
        if value is None:
            return None, f"key template {template.text!r}: column {part.column!r} is NULL"
        if part.width is not None:
            value, why = padded(value, part.width)
            if why is not None:
                return None, f"key template {template.text!r}: column {part.column!r} {why}"
        out.append(escape_value(value or ""))
    return "".join(out), None


def could_collide(one: Template, other: Template) -> bool:
    """Whether some key of one template could equal some key of the other. Two templates are
    kept apart only by what they start with: neither literal prefix is a prefix of the other,
    or both are plain text and differ (a conservative rule: it may refuse templates that
    never meet, never passes two that can)."""
    if one.is_literal and other.is_literal:
        return _unescaped(one) == _unescaped(other)
    a, b = one.literal_prefix, other.literal_prefix
    if one.is_literal:
        return _unescaped(one).startswith(b)
    if other.is_literal:
        return _unescaped(other).startswith(a)
    return a.startswith(b) or b.startswith(a)


def _unescaped(template: Template) -> str:
    return "".join(p for p in template.parts if isinstance(p, str))


def unreadable(template: Template) -> Optional[str]:
    """Why a key could not be read back into its columns' values, or None. Each field must end
    where the text shows: a {column:0N} field by its width; any other one at the end of the
    template, or before a literal that holds a '#' (escaped in values, so its first unescaped
    '#' marks where the value ends), or before a literal suffix."""
    parts = template.parts
    for number, part in enumerate(parts):
        if not isinstance(part, Field) or part.width is not None or number == len(parts) - 1:
            continue
        after = parts[number + 1]
        if isinstance(after, Field):
            return f"fields {{{part.column}}} and {{{after.column}}} need a literal holding '#' between them"
        is_suffix = number + 2 == len(parts)
        if SEPARATOR not in after and not is_suffix:
            return f"the literal {after!r} after {{{part.column}}} needs a '#' (it marks where the value ends)"
        if SEPARATOR in after and ESCAPE in after[: after.index(SEPARATOR)]:
            return f"the literal {after!r} after {{{part.column}}} has a '\\' before its first '#'"
    return None


def read_key(template: Template, text: str) -> Optional[Dict[str, str]]:
    """The column values a key of this template was made from (a padded field's digits without
    their zeros), or None when the text is not a key of it. The template is readable
    (unreadable(template) is None)."""
    values: Dict[str, str] = {}
    position = 0
    parts = template.parts
    for number, part in enumerate(parts):
        if isinstance(part, str):
            if not text.startswith(part, position):
                return None
            position += len(part)
            continue
        if part.width is not None:
            digits = text[position : position + part.width]
            if len(digits) != part.width or not (digits.isascii() and digits.isdigit()):
                return None
            value, position = digits.lstrip("0") or "0", position + part.width
        else:
            end = _value_end(parts, number, text, position)
            if end is None:
                return None
            unescaped, position = _unescape(text[position:end]), end
            if unescaped is None:
                return None
            value = unescaped
        if values.get(part.column, value) != value:
            return None  # a column used twice, with two values
        values[part.column] = value
    return values if position == len(text) else None


def _value_end(parts: Sequence[Part], number: int, text: str, start: int) -> Optional[int]:
    if number == len(parts) - 1:
        return len(text)
    after = parts[number + 1]
    assert isinstance(after, str)
    if SEPARATOR not in after:  # a literal suffix
        end = len(text) - len(after)
        return end if end >= start else None
    position = start
    while position < len(text):
        char = text[position]
        if char == ESCAPE:
            position += 2
            continue
        if char == SEPARATOR:
            end = position - after.index(SEPARATOR)
            return end if end >= start else None
        position += 1
    return None


def _unescape(text: str) -> Optional[str]:
    out, position = [], 0
    while position < len(text):
        char = text[position]
        if char == ESCAPE:
            if position + 1 == len(text) or text[position + 1] not in (ESCAPE, SEPARATOR):
                return None
            out.append(text[position + 1])
            position += 2
            continue
        if char == SEPARATOR:
            return None
        out.append(char)
        position += 1
    return "".join(out)
