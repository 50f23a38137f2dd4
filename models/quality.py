"""Data-quality checks that drift tests ignore, measured from partition profiles.

Evidently drops nulls before its drift tests and compares distributions of
values it has seen, so a surge of missing values, a category nobody has seen
or values far outside the reference range can pass as "no drift". These
checks read the night's profile (stored with the partition at ingest, see
``models.profile``) and a reference profile (the champion's reference sample,
or a merged window of days), and return one raw ``Measurement`` each: the
largest figure over the columns, with every column's figure as evidence.
They never grade: the policy (``models.alerting``) calibrates levels from the
reference period's night-to-night spread of these same figures.

``n`` of each measurement is the rows the figure rests on (the night's rows;
for ``quarantine_share`` the rows that arrived). A figure that rests on fewer
than ``min_rows`` rows is None (graded "insufficient", never a ticket).

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from models.monitoring import Measurement
from models.profile import (
    ProfileError,
    check_profile,
    column_quantile,
    fold_ordinals,
    sketch_arrays,
    sketch_rank_ordinal,
)

MIN_ROWS = 20  # below this a share is one or two rows: not a figure
TOP_VALUES = 5
MAX_VALUE_CHARS = 40


def _rate(numerator: float, denominator: float) -> float:
    return float(numerator) / float(denominator) if denominator else 0.0


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def clip_value(value: Any, limit: int = MAX_VALUE_CHARS) -> str:
    """A data value made safe to show: printable characters only, at most ``limit`` of them.

    Values come from the data (anyone who can write a row writes them), and
    they end up in scorecards, tickets, webhooks and the assistant's index.
    """
    text = "".join(ch if ch.isprintable() else "?" for ch in str(value))
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "\u2026"


def _profiles(night: Any, reference: Any) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    return check_profile(night, where="night profile"), check_profile(reference, where="reference profile")


def _too_few(check: str, rows: int, min_rows: int) -> Measurement:
    return Measurement(
        check, None, rows, evidence={"rows": rows, "min_rows": min_rows},
        note=f"insufficient data: {rows} row(s), fewer than {min_rows}",
    )


def _shared(night: Mapping[str, Any], reference: Mapping[str, Any], kinds: tuple[str, ...]):
    """Columns of the given kinds in both profiles, and the night's ones the reference lacks."""
    shared, unknown = [], []
    for name, column in night["columns"].items():
        if column.get("kind") not in kinds:
            continue
        ref = reference["columns"].get(name)
        if ref is None or ref.get("kind") not in kinds:
            unknown.append(name)
        else:
            shared.append((name, column, ref))
    return shared, unknown


def null_rate_jump(
    night_profile: Mapping[str, Any], reference_profile: Mapping[str, Any], *, min_rows: int = MIN_ROWS
) -> Measurement:
    """The largest rise of a feature's null rate over its reference null rate.

    The rate is nulls over the rows the column was seen on (``count + nulls``)
    in each profile; the rise is night minus reference, in absolute terms
    (0.32 = 32 percentage points). It is negative when every column's null
    rate fell. Catches a missing-value surge that Evidently's drift tests,
    which drop nulls, do not see.

    Args:
        night_profile: the night's profile (``models.profile.profile_frame``).
        reference_profile: the reference's profile.
        min_rows: nights with fewer rows give None.

    Returns:
        ``Measurement("null_rate_jump")``: value = the largest rise; n = the
        night's rows; evidence ``columns`` lists every shared column (night
        rate, reference rate, rise, night nulls and rows) sorted by rise, and
        ``column`` names the top one.

    Raises:
        ProfileError: a profile is not one ``models.profile`` wrote.
    """
    night, reference = _profiles(night_profile, reference_profile)
    rows = night["rows"]
    if rows < min_rows:
        return _too_few("null_rate_jump", rows, min_rows)
    kinds = ("numeric", "integer", "categorical")
    columns, unknown = [], []
    for name, column in night["columns"].items():
        ref = reference["columns"].get(name)
        night_seen = column["count"] + column["nulls"]
        ref_seen = ref["count"] + ref["nulls"] if ref is not None and ref.get("kind") in kinds else 0
        if not ref_seen or not night_seen:
            unknown.append(name)
            continue
        night_rate, ref_rate = _rate(column["nulls"], night_seen), _rate(ref["nulls"], ref_seen)
        columns.append({
            "column": name, "night_rate": _round(night_rate), "reference_rate": _round(ref_rate),
            "rise": _round(night_rate - ref_rate), "night_nulls": int(column["nulls"]), "night_rows": int(night_seen),
        })
    if not columns:
        return Measurement("null_rate_jump", None, rows, evidence={"not_in_reference": unknown},
                           note="no column of the night is in the reference")
    columns.sort(key=lambda c: (-c["rise"], c["column"]))
    top = columns[0]
    return Measurement(
        "null_rate_jump", top["rise"], rows,
        evidence={"column": top["column"], "columns": columns, "not_in_reference": unknown},
        note=f"{top['column']}: null rate {top['night_rate']:.1%} vs reference {top['reference_rate']:.1%}",
    )


def unseen_categories(
    night_profile: Mapping[str, Any],
    reference_profile: Mapping[str, Any],
    *,
    min_rows: int = MIN_ROWS,
    top_values: int = TOP_VALUES,
    max_value_chars: int = MAX_VALUE_CHARS,
) -> Measurement:
    """The largest share of the night's rows holding a category the reference never saw.

    Per categorical column: rows whose value is not among the reference's
    categories, over the rows the column was seen on (nulls count as rows,
    not as unseen). Two limits of capped profiles, both in the evidence: when
    the reference kept only its most frequent categories (``reference_other``
    > 0) a value hidden in its "other" counts as unseen (the figure may
    overstate); the night's own "other" values are not counted (``night_other``:
    the figure may understate). With the default cap of 200 categories
    neither happens for a schema's categorical features.

    Args:
        night_profile: the night's profile.
        reference_profile: the reference's profile.
        min_rows: nights with fewer rows give None.
        top_values: unseen values named per column, most frequent first.
        max_value_chars: each value named is clipped to this many printable characters.

    Returns:
        ``Measurement("unseen_categories")``: value = the largest share (0.0
        when no categorical column is shared: nothing can be unseen); n = the
        night's rows; evidence ``column``, ``values`` (the top column's top
        unseen values) and ``columns`` (share, count, distinct unseen values
        and the top ones per column, sorted by share).

    Raises:
        ProfileError: a profile is not one ``models.profile`` wrote.
    """
    night, reference = _profiles(night_profile, reference_profile)
    rows = night["rows"]
    if rows < min_rows:
        return _too_few("unseen_categories", rows, min_rows)
    shared, unknown = _shared(night, reference, ("categorical",))
    if not shared:
        return Measurement("unseen_categories", 0.0, rows, evidence={"columns": [], "not_in_reference": unknown},
                           note="no categorical column to compare")
    columns = []
    for name, column, ref in shared:
        known = set(ref["categories"])
        unseen = sorted(
            ((k, int(c)) for k, c in column["categories"].items() if k not in known), key=lambda kc: (-kc[1], kc[0])
        )
        count = sum(c for _, c in unseen)
        columns.append({
            "column": name,
            "share": _round(_rate(count, column["count"] + column["nulls"])),
            "rows": int(count),
            "distinct": len(unseen),
            "values": [{"value": clip_value(k, max_value_chars), "rows": c} for k, c in unseen[:top_values]],
            "night_other": int(column.get("other", 0)),
            "reference_other": int(ref.get("other", 0)),
        })
    columns.sort(key=lambda c: (-c["share"], c["column"]))
    top = columns[0]
    if top["rows"]:
        named = ", ".join(repr(v["value"]) for v in top["values"][:3])
        note = f"{top['column']}: {top['share']:.1%} of rows hold {top['distinct']} unseen value(s): {named}"
    else:
        note = "no unseen category"
    return Measurement(
        "unseen_categories", top["share"], rows,
        evidence={"column": top["column"], "values": top["values"], "columns": columns, "not_in_reference": unknown},
        note=note,
    )


def out_of_range(
    night_profile: Mapping[str, Any],
    reference_profile: Mapping[str, Any],
    *,
    lower_q: float = 0.001,
    upper_q: float = 0.999,
    min_rows: int = MIN_ROWS,
) -> Measurement:
    """The largest share of a numeric column's night values outside the reference's [q_lower, q_upper].

    The estimate, from the two sketches without any raw row: the reference's
    ``lower_q`` and ``upper_q`` quantiles fall in two buckets of its sketch;
    the night's values in buckets strictly below the first or strictly above
    the second are outside. Bucket edges are within the sketch's relative
    accuracy (1%) of the values they hold, so this is the exact share of the
    night's values outside the reference range widened by at most one bucket
    (about 2% of the bound's magnitude) on each side. On a night like the
    reference the figure is at most ``lower_q + 1 - upper_q`` (0.2%) plus
    sampling noise. Non-finite values count as outside; nulls are left out
    (``null_rate_jump`` watches them).

    Args:
        night_profile: the night's profile.
        reference_profile: the reference's profile.
        lower_q: the reference quantile below which a value is out of range.
        upper_q: the reference quantile above which a value is out of range.
        min_rows: nights with fewer rows give None; a column with fewer
            non-null values than this is left out (listed in ``too_few``).

    Returns:
        ``Measurement("out_of_range")``: value = the largest share (0.0 when
        no numeric column is shared); n = the night's rows; evidence ``column``
        and ``columns`` (share, below and above shares, the reference bounds,
        the night's min and max, sorted by share).

    Raises:
        ValueError: not ``0 <= lower_q < upper_q <= 1``.
        ProfileError: a profile is not one ``models.profile`` wrote, or a
            column's two sketches have different accuracies.
    """
    if not 0.0 <= lower_q < upper_q <= 1.0:
        raise ValueError(f"out_of_range: need 0 <= lower_q < upper_q <= 1, got lower_q={lower_q}, upper_q={upper_q}")
    night, reference = _profiles(night_profile, reference_profile)
    rows = night["rows"]
    if rows < min_rows:
        return _too_few("out_of_range", rows, min_rows)
    kinds = ("numeric", "integer")
    shared, unknown = _shared(night, reference, kinds)
    columns, too_few = [], []
    for name, column, ref in shared:
        sketch, ref_sketch = column["sketch"], ref["sketch"]
        accuracy = (sketch["relative_accuracy"], sketch["min_indexable"])
        if accuracy != (ref_sketch["relative_accuracy"], ref_sketch["min_indexable"]):
            raise ProfileError(f"out_of_range: column {name!r}: night and reference sketches differ in accuracy")
        low, high = sketch_rank_ordinal(ref_sketch, lower_q), sketch_rank_ordinal(ref_sketch, upper_q)
        if low is None or column["count"] < min_rows:
            too_few.append(name)
            continue
        ords, counts = sketch_arrays(sketch)
        ords = fold_ordinals(ords, ref_sketch)  # compare at the coarser of the two resolutions
        below, above = int(counts[ords < low].sum()), int(counts[ords > high].sum())
        non_finite = int(column.get("non_finite", 0))
        total = column["count"]
        columns.append({
            "column": name,
            "share": _round(_rate(below + above + non_finite, total)),
            "below_share": _round(_rate(below, total)),
            "above_share": _round(_rate(above, total)),
            "non_finite": non_finite,
            "values": int(total),
            "reference_low": _round(column_quantile(ref, lower_q)),
            "reference_high": _round(column_quantile(ref, upper_q)),
            "night_min": _round(column.get("min")),
            "night_max": _round(column.get("max")),
        })
    evidence: dict[str, Any] = {"lower_q": lower_q, "upper_q": upper_q, "not_in_reference": unknown, "too_few": too_few}
    if not columns:
        note = "no numeric column to compare" if not shared else "no numeric column with enough values"
        value = 0.0 if not shared else None
        return Measurement("out_of_range", value, rows, evidence={**evidence, "columns": []}, note=note)
    columns.sort(key=lambda c: (-c["share"], c["column"]))
    top = columns[0]
    return Measurement(
        "out_of_range", top["share"], rows,
        evidence={**evidence, "column": top["column"], "columns": columns},
        note=(f"{top['column']}: {top['share']:.2%} of values outside the reference's "
              f"[{top['reference_low']:.6g}, {top['reference_high']:.6g}]"),
    )


def quarantine_share(row_count: int, quarantined_count: int) -> Measurement:
    """The share of the night's incoming rows that ingest quarantined.

    Args:
        row_count: rows committed to the partition (the ledger's ``row_count``,
            which excludes the quarantined ones).
        quarantined_count: rows quarantined (the ledger's ``quarantined_count``).

    Returns:
        ``Measurement("quarantine_share")``: value = quarantined / (committed +
        quarantined), None when nothing arrived; n = the rows that arrived.

    Raises:
        ValueError: a negative count.
    """
    if row_count is None or quarantined_count is None or row_count < 0 or quarantined_count < 0:
        raise ValueError(
            f"quarantine_share: counts must be >= 0, got row_count={row_count}, quarantined_count={quarantined_count}"
        )
    total = int(row_count) + int(quarantined_count)
    evidence = {"rows": int(row_count), "quarantined": int(quarantined_count)}
    if total == 0:
        return Measurement("quarantine_share", None, 0, evidence=evidence, note="no rows arrived")
    share = quarantined_count / total
    return Measurement("quarantine_share", _round(share), total, evidence=evidence,
                       note=f"{quarantined_count} of {total} rows quarantined ({share:.1%})")


def freshness(
    partitions: Mapping[str, bool | None],
    *,
    scored_by_champion: bool | None = None,
    champion_version: str | None = None,
    scored_version: str | None = None,
) -> Measurement:
    """How many of the night's expected things are missing.

    Args:
        partitions: partition name (e.g. "applications", "labels",
            "predictions") -> True when the night's partition is committed,
            False when it is missing (or failed), None when none is due tonight
            (e.g. no labels mature yet).
        scored_by_champion: True when the night's predictions were made by the
            current champion, False when by another version (a stale scorer),
            None when it cannot be told (no predictions, no champion).
        champion_version: the champion's version, for the evidence.
        scored_version: the version the predictions carry, for the evidence.

    Returns:
        ``Measurement("freshness")``: value = the number of missing things
        (each missing partition, plus one when the night was not scored by the
        champion); n = the number of things checked (None value when nothing
        was due); evidence ``missing``, ``present`` and ``not_due`` by name.
    """
    missing = [name for name, present in partitions.items() if present is False]
    present = [name for name, present in partitions.items() if present is True]
    not_due = [name for name, present in partitions.items() if present is None]
    checked = len(missing) + len(present)
    if scored_by_champion is not None:
        checked += 1
        if scored_by_champion:
            present.append("scored by champion")
        else:
            missing.append("scored by champion")
    evidence = {
        "missing": missing, "present": present, "not_due": not_due,
        "scored_by_champion": scored_by_champion, "champion_version": champion_version, "scored_version": scored_version,
    }
    if not checked:
        return Measurement("freshness", None, 0, evidence=evidence, note="nothing was due tonight")
    if missing:
        note = "missing: " + ", ".join(missing)
        if scored_by_champion is False:
            note += f" (predictions by version {scored_version or '?'}, champion is {champion_version or '?'})"
    else:
        note = "every expected partition is present"
    return Measurement("freshness", float(len(missing)), checked, evidence=evidence, note=note)


__all__ = [
    "MIN_ROWS",
    "clip_value",
    "freshness",
    "null_rate_jump",
    "out_of_range",
    "quarantine_share",
    "unseen_categories",
]
