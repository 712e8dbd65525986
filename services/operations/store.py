"""The read model's adapter: applies upserts to the operations store and reads its rows."""

from typing import cast

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from .domain.figures import Rows
from .domain.upsert import Upsert, merge
from .tables import TABLES


def _columns(model) -> list[str]:
    return [c.key for c in inspect(model).column_attrs]


async def apply(session: AsyncSession, upserts: list[Upsert]) -> None:
    for up in upserts:
        model = TABLES[up.table]
        row = await session.get(model, dict(up.key))
        current = {c: getattr(row, c) for c in _columns(model)} if row is not None else None
        merged = merge(current, up)
        if row is None:
            session.add(model(**merged))
        else:
            assert current is not None  # read from the row above
            for col, value in merged.items():
                if current.get(col) != value:
                    setattr(row, col, value)
        await session.flush()  # the next upsert of this transaction finds the row


async def load_rows(session: AsyncSession) -> Rows:
    """Every row of every read-model table, as plain dicts, in primary-key order."""
    out: Rows = {}
    for name, model in TABLES.items():
        cols = _columns(model)
        pk = [cast(str, c.key) for c in inspect(model).primary_key]  # Column.key is Optional: a table's never is
        result = await session.scalars(select(model).order_by(*[getattr(model, k) for k in pk]))
        out[name] = [{c: getattr(r, c) for c in cols} for r in result.all()]
    return out
