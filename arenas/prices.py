"""Pricing a usage report from its model's name.

Prices come from the `genai-prices` library (a maintained table of the providers' prices),
and an operator may add or override models with a JSON file named by `ALEPH_MODEL_PRICES`:

    {"my-fine-tune": {"input_per_million": "3.00", "output_per_million": "15.00",
                      "cached_input_per_million": "0.30"}}

(prices in US dollars per million tokens, as strings or numbers; `cached_input_per_million`
defaults to the input price). The file's models are matched first, by name without regard
to case.

A model name may carry a provider prefix, `provider/model` (`openai/gpt-4o`,
`anthropic/claude-sonnet-4-5`): the prefix then chooses the provider's price list, and
when it names no provider the library knows, the whole name is looked up as it is. A name
nobody can price is not an error: the report is recorded unpriced.

Cached input tokens are part of the input tokens (as in the OpenTelemetry GenAI
conventions and the providers' own usage fields) and priced at the cached rate. A price is
rounded to the nearest micro-dollar (half up).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from . import inputs

PER_MILLION = Decimal(1_000_000)
_RATES = ("input_per_million", "output_per_million", "cached_input_per_million")


@dataclass(frozen=True)
class Price:
    """What a report cost by the table, and the table's name for its model (the metrics'
    label: a bounded set of names, whatever agents call their models)."""

    micro_usd: int
    model: str


def price(
    model: str, input_tokens: int, output_tokens: int, cached_input_tokens: int
) -> Price | None:
    """The price of one report, or None when neither the operator's file nor the library
    knows the model."""
    own = operator_prices(_prices_file()).get(model.casefold())
    if own is not None:
        return _own_price(model, own, input_tokens, output_tokens, cached_input_tokens)
    return _library_price(model, input_tokens, output_tokens, cached_input_tokens)


def _own_price(
    model: str, rates: dict[str, Decimal], input_tokens: int, output_tokens: int, cached: int
) -> Price:
    cached_rate = rates.get("cached_input_per_million", rates["input_per_million"])
    dollars = (
        (input_tokens - cached) * rates["input_per_million"]
        + cached * cached_rate
        + output_tokens * rates["output_per_million"]
    ) / PER_MILLION
    return Price(_to_micros(dollars), model.casefold())


def _library_price(model: str, input_tokens: int, output_tokens: int, cached: int) -> Price | None:
    import genai_prices

    usage = genai_prices.Usage(
        input_tokens=input_tokens, output_tokens=output_tokens, cache_read_tokens=cached
    )
    attempts: list[tuple[str, str | None]] = []
    provider, _, name = model.partition("/")
    if name:
        attempts.append((name, provider))
    attempts.append((model, None))
    for ref, provider_id in attempts:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = genai_prices.calc_price(usage, ref, provider_id=provider_id)
        except (LookupError, ValueError):
            continue
        return Price(_to_micros(Decimal(result.total_price)), str(result.model.id))
    return None


def _to_micros(dollars: Decimal) -> int:
    micros = (dollars * PER_MILLION).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return max(0, min(int(micros), inputs.COST_MAX_MICRO_USD))


def _prices_file() -> str:
    return settings.ALEPH_MODEL_PRICES


@cache
def operator_prices(path: str) -> dict[str, dict[str, Decimal]]:
    """The operator's prices from the JSON file at `path` (none when `path` is empty), by
    case-folded model name. ImproperlyConfigured names what is wrong with the file."""
    if not path:
        return {}
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"), parse_float=Decimal)
    except (OSError, ValueError) as error:
        raise ImproperlyConfigured(f"ALEPH_MODEL_PRICES: cannot read {path}: {error}") from None
    if not isinstance(document, dict):
        raise ImproperlyConfigured("ALEPH_MODEL_PRICES: the file must hold a JSON object.")
    return {str(name).casefold(): _rates(name, rates) for name, rates in document.items()}


def _rates(name: str, rates: Any) -> dict[str, Decimal]:
    if not isinstance(rates, dict) or not {"input_per_million", "output_per_million"} <= set(rates):
        raise ImproperlyConfigured(
            f"ALEPH_MODEL_PRICES: {name!r} needs input_per_million and output_per_million."
        )
    parsed = {}
    for key, value in rates.items():
        if key not in _RATES:
            raise ImproperlyConfigured(f"ALEPH_MODEL_PRICES: {name!r} has an unknown key {key!r}.")
        try:
            rate = Decimal(str(value)) if not isinstance(value, bool) else None
        except ArithmeticError:
            rate = None
        if rate is None or not rate.is_finite() or rate < 0:
            raise ImproperlyConfigured(
                f"ALEPH_MODEL_PRICES: {name!r} {key} must be a number of dollars ≥ 0."
            )
        parsed[key] = rate
    return parsed
