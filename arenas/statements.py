"""The statements every write runs, as SQL written once, over Django's connection.

Building a statement through the ORM (cloning the queryset, compiling it, instantiating the
row) costs 300–600 µs of Python per statement; the same statement as SQL costs 60–100 µs.
A step completion runs about ten statements, so the write path (authenticating a token,
locking an arena with the caller's participation, reading the plan, appending an event)
uses the helpers here, and everything else uses the ORM.

The SQL is built from the models: table and column names come from `_meta`, parameters are
adapted by the field's own `get_db_prep_value`/`get_db_prep_save`, and values read back go
through the same converters the ORM applies (UUIDs, datetimes and booleans on SQLite, JSON
everywhere), so an instance loaded here equals one the ORM loads. The statements are plain
SQL-92 that SQLite and PostgreSQL both run; only row locking differs (`FOR UPDATE` on
PostgreSQL, the IMMEDIATE transaction on SQLite, see `lock_suffix`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Field, Model


def table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def field(model: type[Model], name: str) -> Field:
    return model._meta.get_field(name)


def column(model: type[Model], name: str, alias: str = "") -> str:
    quoted = connection.ops.quote_name(field(model, name).column)
    return f"{alias}.{quoted}" if alias else quoted


def param(model: type[Model], name: str, value: Any) -> Any:
    """`value` as the database takes it in a comparison with the field `name`."""
    return field(model, name).get_db_prep_value(value, connection, prepared=False)


def lock_suffix(alias: str) -> str:
    """` FOR UPDATE OF <alias>` where the database locks rows; on SQLite the write
    transaction is IMMEDIATE, which takes the database's write lock at BEGIN."""
    if connection.features.has_select_for_update_of:
        return f" FOR UPDATE OF {alias}"
    if connection.features.has_select_for_update:
        return " FOR UPDATE"
    return ""


class Loader:
    """Instances of `model` from rows holding `names` (every concrete field by default),
    converted as the ORM converts them."""

    def __init__(self, model: type[Model], names: Sequence[str] | None = None) -> None:
        self.model = model
        fields = (
            [field(model, n) for n in names] if names is not None else model._meta.concrete_fields
        )
        self.fields: tuple[Field, ...] = tuple(fields)
        self.attnames = [f.attname for f in self.fields]

    def __len__(self) -> int:
        return len(self.fields)

    def columns(self, alias: str) -> str:
        return ", ".join(column(self.model, f.name, alias) for f in self.fields)

    def load(self, row: Sequence[Any], start: int = 0) -> Model:
        values = row[start : start + len(self.fields)]
        converted = [
            _convert(value, converters)
            for value, converters in zip(values, self._converters(), strict=True)
        ]
        return self.model.from_db(connection.alias, self.attnames, converted)

    def _converters(self) -> list[list[tuple[Any, Any]]]:
        return _field_converters(connection.vendor, self.model, tuple(self.attnames))


@cache
def _field_converters(
    vendor: str, model: type[Model], attnames: tuple[str, ...]
) -> list[list[tuple[Any, Any]]]:
    fields = {f.attname: f for f in model._meta.concrete_fields}
    result = []
    for name in attnames:
        col = fields[name].get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        result.append([(converter, col) for converter in converters])
    return result


def _convert(value: Any, converters: list[tuple[Any, Any]]) -> Any:
    for converter, col in converters:
        value = converter(value, col, connection)
    return value


def fetch_one(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def fetch_all(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _save_params(instance: Model, fields: Iterable[Field]) -> list[Any]:
    return [f.get_db_prep_save(getattr(instance, f.attname), connection) for f in fields]


@cache
def _insert_sql(vendor: str, model: type[Model], names: tuple[str, ...]) -> str:
    columns = ", ".join(column(model, n) for n in names)
    values = ", ".join(["%s"] * len(names))
    sql = f"INSERT INTO {table(model)} ({columns}) VALUES ({values})"
    if connection.features.can_return_columns_from_insert and model._meta.pk.name not in names:
        sql += f" RETURNING {column(model, model._meta.pk.name)}"
    return sql


def insert(instance: Model, names: Sequence[str]) -> Model:
    """INSERT the fields `names` of a new `instance` (every value set by the caller: no
    defaults or `auto_now_add` are applied here); an auto primary key is set on it."""
    meta = instance._meta
    sql = _insert_sql(connection.vendor, type(instance), tuple(names))
    with connection.cursor() as cursor:
        cursor.execute(sql, _save_params(instance, [meta.get_field(n) for n in names]))
        if meta.pk.name not in names:
            if connection.features.can_return_columns_from_insert:
                pk = cursor.fetchone()[0]
            else:
                pk = cursor.lastrowid
            setattr(instance, meta.pk.attname, pk)
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


@cache
def _update_sql(vendor: str, model: type[Model], names: tuple[str, ...]) -> str:
    assignments = ", ".join(f"{column(model, n)} = %s" for n in names)
    return (
        f"UPDATE {table(model)} SET {assignments} WHERE {column(model, model._meta.pk.name)} = %s"
    )


def update(instance: Model, names: Sequence[str]) -> None:
    """UPDATE the fields `names` of `instance`'s row, as `save(update_fields=names)`."""
    meta = instance._meta
    names = tuple(dict.fromkeys(names))
    sql = _update_sql(connection.vendor, type(instance), names)
    params = _save_params(instance, [meta.get_field(n) for n in names])
    params.append(meta.pk.get_db_prep_value(instance.pk, connection))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
