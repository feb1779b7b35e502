"""Write a feed's canonical records down as the agency would: its column names, codes, date
formats and address style, with the errors of real extracts, and the truth of every row."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dagster_project.contracts.model import (
    LOCATION_ATTRIBUTES,
    Contract,
    Field,
    nicknames,
    value_sets,
)
from dagster_project.dev.synth import errors as err
from dagster_project.dev.synth.addresses import (
    STYLES,
    Parts,
    convention,
    format_postcode,
    one_line,
    premises,
    relational,
)
from dagster_project.dev.synth.data import load_data
from dagster_project.dev.synth.events import Region, draw_codes
from dagster_project.dev.synth.population import Population, age_at
from dagster_project.dev.synth.refs import agency_refs

NAME_ATTRS = {"first_name", "surname", "full_name"}
ADDRESS_ATTRS = {
    "address",
    "address_line1",
    "address_line2",
    "town",
    "postcode",
    "easting",
    "northing",
}


@dataclass
class Rendered:
    table: pd.DataFrame  # columns as delivered; dates as datetime64 where the file keeps types
    truth: pd.DataFrame  # one row per (record, role)


def coding(value_set: str) -> dict[str, str]:
    """Canonical value -> this coding's code."""
    out: dict[str, str] = {}
    for v in value_sets()[value_set]["values"]:
        for canonical in v.get("from", [v["code"]]):
            out.setdefault(str(canonical), str(v["code"]))
    return out


def _case(values: list, f: Field) -> list:
    case = f.options.get("case")
    if case == "upper":
        return [v.upper() if isinstance(v, str) else v for v in values]
    return values


class _PersonView:
    """The person of one role in each record, as the agency holds them (errors applied)."""

    def __init__(
        self,
        rng,
        contract: Contract,
        role: str,
        frame: pd.DataFrame,
        pop: Population,
        rates: err.ErrorRates,
    ):
        attrs = {f.attribute for f in contract.fields_for(role)}
        idx = frame[role].to_numpy()
        self.has = idx >= 0
        n = len(idx)
        safe = np.maximum(idx, 0)
        self.idx = idx
        self.seed = pop.seed
        self.errors: list[list[str]] = [[] for _ in range(n)]
        self.first = pop.col("first_name")[safe].copy()
        self.surname = pop.col("surname")[safe].copy()
        self.true_dob = pop.col("dob")[safe]
        self.dob = self.true_dob.copy()
        self.age = age_at(self.true_dob, frame["date"].to_numpy().astype("datetime64[D]"))
        self.age_known = np.ones(n, bool)
        self.sex = pop.col("sex")[safe]
        self.ethnicity = pop.col("ethnicity")[safe]
        hh = pop.col("household")[safe]
        self.current_uprn = np.where(self.has, pop.household_uprn[hh], -1)
        self.uprn = self.current_uprn.copy()
        self.style = np.full(n, "standard", dtype=object)
        self.pc_no_space = np.zeros(n, bool)
        self.pc_lower = np.zeros(n, bool)
        self.pc_typo = np.zeros(n, bool)

        def hit(rate: float, eligible: np.ndarray) -> np.ndarray:
            return eligible & self.has & (rng.random(n) < rate)

        def note(mask: np.ndarray, code: str) -> None:
            for i in np.flatnonzero(mask):
                self.errors[i].append(code)

        if attrs & NAME_ATTRS:
            former = pop.col("former_surname")[safe]
            m = hit(rates.former_surname, np.asarray(pd.notna(former), dtype=bool))
            self.surname[m] = former[m]
            note(m, "former_surname")
            m = hit(rates.hyphen_variant, np.array(["-" in s for s in self.surname], dtype=bool))
            self.surname[m] = [err.hyphen_variant(rng, s) for s in self.surname[m]]
            note(m, "hyphen_variant")
            nick = nicknames()
            m = hit(rates.nickname, np.array([f in nick for f in self.first], dtype=bool))
            self.first[m] = [str(rng.choice(nick[f])) for f in self.first[m]]
            note(m, "nickname")
            for code, fn, rate in (
                ("typo", err.typo, rates.typo),
                ("transposition", err.transpose, rates.transposition),
            ):
                m = hit(rate, np.ones(n, bool))
                in_first = rng.random(n) < 0.5
                for i in np.flatnonzero(m):
                    if in_first[i]:
                        self.first[i] = fn(rng, self.first[i])
                    else:
                        self.surname[i] = fn(rng, self.surname[i])
                note(m, code)
            m = hit(rates.name_swap, np.ones(n, bool))
            self.first[m], self.surname[m] = self.surname[m].copy(), self.first[m].copy()
            note(m, "name_swap")
        if "dob" in attrs:
            swappable = np.array([err.can_swap_day_month(d) for d in self.true_dob], dtype=bool)
            m = hit(rates.dob_day_month_swap, swappable)
            self.dob[m] = [err.swap_day_month(d) for d in self.dob[m]]
            note(m, "dob_day_month_swap")
            u = rng.random(n)
            missing = self.has & (u < rates.dob_missing)
            age_only = (
                self.has
                & ~missing
                & ("age" in attrs)
                & (u < rates.dob_missing + rates.age_instead_of_dob)
            )
            self.dob = self.dob.astype("datetime64[D]")
            self.dob[missing | age_only] = np.datetime64("NaT")
            self.age_known[missing] = False
            note(missing, "dob_missing")
            note(age_only, "age_instead_of_dob")
        if attrs & ADDRESS_ATTRS:
            moved = pop.household_prev_uprn[hh] >= 0
            m = hit(rates.stale_address, moved)
            self.uprn[m] = pop.household_prev_uprn[hh][m]
            note(m, "stale_address")
            _address_errors(self, rng, rates, hit, note, attrs, shows_postcode(contract, role))


def shows_postcode(contract: Contract, role: str) -> bool:
    """Whether a role's postcode is delivered, in its own column or inside the address."""
    return any(
        f.attribute == "postcode" or (f.attribute == "address" and f.options.get("with_postcode"))
        for f in contract.fields_for(role)
    )


def _address_errors(view, rng, rates, hit, note, attrs, postcode: bool) -> None:
    n = len(view.uprn)
    everyone = np.ones(n, bool)
    if attrs & {"address", "address_line1"}:
        m = hit(rates.address_variant, everyone)
        view.style[m] = rng.choice(STYLES[1:], int(m.sum()))
        note(m, "address_variant")
    if postcode:
        for attr, code, rate in (
            ("pc_no_space", "postcode_no_space", rates.postcode_no_space),
            ("pc_lower", "postcode_lower", rates.postcode_lower),
            ("pc_typo", "postcode_typo", rates.postcode_typo),
        ):
            m = hit(rate, everyone)
            setattr(view, attr, m)
            note(m, code)


@dataclass(frozen=True)
class _Conventions:
    """Writes addresses.convention into addresses from a generator of its own, so the rest of
    the region is drawn as it was before conventions were written."""

    rng: np.random.Generator
    rates: err.ErrorRates

    def apply(self, p: Parts, region: Region, errors: list[str]) -> Parts:
        q, code = convention(self.rng, self.rates, p, region.taken)
        if code:
            errors.append(code)
        return q


def _address_parts(
    region: Region,
    uprn_idx: np.ndarray,
    style: np.ndarray,
    written: _Conventions,
    errors: list[list[str]],
):
    """(first line, locality, town, postcode, easting, northing) of each property, or None."""
    col = region.column
    for k, i in enumerate(uprn_idx):
        if i < 0:
            yield None
            continue
        sub = col["sub_building"][i]
        p = Parts(
            sub,
            col["building_name"][i],
            col["building_number"][i],
            col["street"][i],
            None if sub else col["organisation"][i],
        )
        q = written.apply(p, region, errors[k])
        short = region.street_short.get(col["usrn"][i]) if q.street == p.street else None
        line1 = premises(
            q.sub_building,
            q.building_name,
            q.building_number,
            q.street,
            str(style[k]),
            short,
            q.organisation,
        )
        yield (
            line1,
            col["locality"][i],
            col["town"][i],
            col["postcode"][i],
            col["easting"][i],
            col["northing"][i],
        )


def _postcode(pc: str | None, view: _PersonView, i: int, rng) -> str | None:
    if pc is None:
        return None
    if view.pc_typo[i]:
        pc = err.postcode_typo(rng, pc)
    return format_postcode(pc, view.pc_no_space[i], view.pc_lower[i])


def _person_columns(
    rng,
    contract: Contract,
    role: str,
    view: _PersonView,
    region: Region,
    frame: pd.DataFrame,
    written: _Conventions,
) -> dict[str, list]:
    out: dict[str, list] = {}
    uprn_idx = np.where(view.has, view.uprn, -1)
    if not {f.attribute for f in contract.fields_for(role)} & ADDRESS_ATTRS:
        uprn_idx = np.full(len(uprn_idx), -1)
    parts = list(_address_parts(region, uprn_idx, view.style, written, view.errors))
    for f in contract.fields_for(role):
        a = f.attribute
        has = view.has
        if a == "ref":
            fmt = f.options.get("ref_format", "{num}")
            refs = agency_refs(
                view.seed, f.options.get("ref_scope", contract.agency), fmt, np.maximum(view.idx, 0)
            )
            col = [r if h else None for r, h in zip(refs, has, strict=True)]
        elif a == "first_name":
            col = [x if h else None for x, h in zip(view.first, has, strict=True)]
        elif a == "surname":
            col = [x if h else None for x, h in zip(view.surname, has, strict=True)]
        elif a == "full_name":
            if f.options.get("name_format") == "surname_first":
                col = [
                    f"{s.upper()}, {fn}" if h else None
                    for fn, s, h in zip(view.first, view.surname, has, strict=True)
                ]
            else:
                col = [
                    f"{fn} {s}" if h else None
                    for fn, s, h in zip(view.first, view.surname, has, strict=True)
                ]
        elif a == "dob":
            col = [d if h and not np.isnat(d) else None for d, h in zip(view.dob, has, strict=True)]
        elif a == "age":
            col = [
                int(x) if h and k else None
                for x, h, k in zip(view.age, has, view.age_known, strict=True)
            ]
        elif a == "sex":
            code = coding(f.value_set)
            col = [code[s] if h else None for s, h in zip(view.sex, has, strict=True)]
        elif a == "ethnicity":
            code = coding(f.value_set)
            col = [code[e] if h else None for e, h in zip(view.ethnicity, has, strict=True)]
        elif a == "occupation":
            col = list(_codes_by(rng, f, frame))
            col = [c if h else None for c, h in zip(col, has, strict=True)]
        elif a in ADDRESS_ATTRS:
            col = []
            for i, pt in enumerate(parts):
                if pt is None:
                    col.append(None)
                    continue
                line1, loc, town, pc, e, nn = pt
                pc_out = _postcode(pc, view, i, rng)
                style = str(view.style[i])
                col.append(
                    {
                        "address": one_line(
                            line1,
                            loc,
                            town,
                            pc_out if f.options.get("with_postcode") else None,
                            style,
                        ),
                        "address_line1": line1,
                        "address_line2": loc,
                        "town": town.title() if style != "standard" else town,
                        "postcode": pc_out,
                        "easting": int(e),
                        "northing": int(nn),
                    }[a]
                )
        else:
            raise ValueError(f"{contract.name}: no person attribute {a!r}")
        out[f.name] = _case(col, f)
    return out


def _codes_by(rng, f: Field, frame: pd.DataFrame) -> np.ndarray:
    """Values of a coded attribute; an ordered scale follows the record's risk."""
    risk = frame["risk"].to_numpy() if f.options.get("by_risk") else None
    return draw_codes(rng, f.value_set, len(frame), risk)


def _location_columns(
    rng,
    contract: Contract,
    frame: pd.DataFrame,
    region: Region,
    rates: err.ErrorRates,
    errors: list[list[str]],
    written: _Conventions,
) -> dict[str, list]:
    fields = contract.fields_for("location")
    if not fields:
        return {}
    n = len(frame)
    style = np.full(n, "standard", dtype=object)
    attrs = {f.attribute for f in fields}
    if attrs & {"address"}:  # only a property's address can be written another way
        m = (rng.random(n) < rates.address_variant) & (frame["loc_prop"].to_numpy() >= 0)
        style[m] = rng.choice(STYLES[1:], int(m.sum()))
        for i in np.flatnonzero(m):
            errors[i].append("address_variant")
    no_space = rng.random(n) < rates.postcode_no_space if "postcode" in attrs else np.zeros(n, bool)
    for i in np.flatnonzero(no_space):
        errors[i].append("postcode_no_space")
    loc_prop = frame["loc_prop"].to_numpy().copy()
    parts = list(_address_parts(region, loc_prop, style, written, errors))
    st_rows = frame["loc_street"].to_numpy().copy()
    forms = frame["loc_form"].to_numpy()
    col, street = region.column, region.street
    out: dict[str, list] = {f.name: [] for f in fields}
    for i in range(n):
        if loc_prop[i] >= 0:
            k = loc_prop[i]
            line1, loc, town, pc, e, nn = parts[i]
            if "address" in attrs and written.rng.random() < rates.relational:
                # beside the property, not it: the event is on its street
                line1 = relational(written.rng, line1)
                errors[i].append("relational")
                loc_prop[i], forms[i] = -1, "outside"
                st_rows[i] = region.street_index[int(col["usrn"][k])]
            text = one_line(line1, loc, town, None, str(style[i]))
            values = {
                "address": text,
                "description": text,
                "name": col["organisation"][k] or col["building_name"][k],
                "street": col["street"][k],
                "town": town,
                "postcode": format_postcode(pc, no_space[i]),
                "easting": int(e),
                "northing": int(nn),
            }
        elif st_rows[i] >= 0:
            j = st_rows[i]
            usrn, name, town = street["usrn"][j], street["street"][j], street["town"][j].title()
            e = (street["start_easting"][j] + street["end_easting"][j]) // 2
            nn = (street["start_northing"][j] + street["end_northing"][j]) // 2
            form = forms[i]
            if form == "outside" and usrn in region.street_premises:
                k = region.street_premises[usrn]
                text = f"Outside {col['organisation'][k]}, {name}, {town}"
                e, nn = col["easting"][k], col["northing"][k]
            elif form == "route":
                route = rng.choice(load_data("places")["bus_routes"])
                text = f"Route {route} bus, {name}, {town}"
            elif form in ("junction", "outside"):
                other = street["street"][
                    int(rng.choice(region.outward_streets[street["outward"][j]]))
                ]
                forms[i] = "street" if other == name else "junction"
                text = (
                    f"{name}, {town}"
                    if other == name
                    else f"Junction of {name} and {other}, {town}"
                )
            else:
                text = f"{name}, {town}"
            values = {
                "address": text,
                "description": text,
                "name": None,
                "street": name,
                "town": town,
                "easting": int(e),
                "northing": int(nn),
                "postcode": format_postcode(region.street_postcode[usrn], no_space[i]),
            }
        else:
            values = dict.fromkeys(LOCATION_ATTRIBUTES)
        for f in fields:
            out[f.name].append(values[f.attribute])
    frame["loc_form"], frame["loc_prop"], frame["loc_street"] = forms, loc_prop, st_rows
    return out


def _event_columns(rng, contract: Contract, frame: pd.DataFrame, period: str) -> dict[str, list]:
    out: dict[str, list] = {}
    yy, mm = period[2:4], period[5:7]
    for f in contract.fields:
        role, a = f.role, f.attribute
        if role == "event":
            if a == "ref":
                fmt = f.options.get("ref_format", "{yy}{mm}{seq:06d}")
                col = [fmt.format(yy=yy, mm=mm, yyyy=period[:4], seq=int(s)) for s in frame["seq"]]
            elif a in ("date", "date_to"):
                d = frame["date"].to_numpy().astype("datetime64[D]")
                if a == "date_to":
                    d = d + rng.choice([0, 0, 0, 1, 2], len(d)).astype("timedelta64[D]")
                col = list(d)
            elif a in ("time", "time_to"):
                m = frame["minute"].to_numpy()
                if a == "time_to":
                    m = np.minimum(m + rng.integers(5, 240, len(m)), 24 * 60 - 1)
                col = [f"{x // 60:02d}:{x % 60:02d}" for x in m]
            elif a == "type":
                col = list(frame["type"]) if "type" in frame else list(_codes_by(rng, f, frame))
            else:
                raise ValueError(f"{contract.name}: no event attribute {a!r}")
        elif role == "attr":
            col = _attribute(rng, f, frame, out)
        else:
            continue
        out[f.name] = col
    return out


def _attribute(rng, f: Field, frame: pd.DataFrame, columns: dict[str, list]) -> list:
    values = _attribute_values(rng, f, frame)
    if "present" in f.options:  # recorded for only a share of records
        recorded = rng.random(len(values)) < f.options["present"]
        values = [v if r else None for v, r in zip(values, recorded, strict=True)]
    if "distinct_from" in f.options:  # a secondary drug is not the primary one
        other = columns[f.options["distinct_from"]]
        values = [None if v == o else v for v, o in zip(values, other, strict=True)]
    if "when_type" in f.options:  # recorded only for some kinds of event
        applies = frame["type"].isin(f.options["when_type"]).to_numpy()
        values = [v if a else None for v, a in zip(values, applies, strict=True)]
    return values


def _attribute_values(rng, f: Field, frame: pd.DataFrame) -> list:
    n = len(frame)
    if f.type == "date":
        lo, hi = f.options.get("offset_days", [0, 30])
        d = frame["date"].to_numpy().astype("datetime64[D]")
        return list(d + rng.integers(lo, hi + 1, n).astype("timedelta64[D]"))
    if f.value_set:
        return list(_codes_by(rng, f, frame))
    if "range" in f.options:
        lo, hi = f.options["range"]
        risk = frame["risk"].to_numpy()
        vals = lo + (hi - lo) * np.clip(risk * rng.uniform(0.5, 1.5, n), 0, 1)
        return (
            [int(round(v)) for v in vals]
            if f.type == "integer"
            else [round(float(v), 2) for v in vals]
        )
    if f.options.get("text"):
        return [f.options["text"].format(seq=int(s)) for s in frame["seq"]]
    raise ValueError(f"attribute {f.name} needs a value_set, range, text or offset_days")


def render(
    rng: np.random.Generator,
    contract: Contract,
    frame: pd.DataFrame,
    pop: Population,
    region: Region,
    rates: err.ErrorRates,
    period: str,
) -> Rendered:
    n = len(frame)
    frame = frame.copy()
    record_errors: list[list[str]] = [[] for _ in range(n)]
    loc_errors: list[list[str]] = [[] for _ in range(n)]
    columns: dict[str, list] = {}
    columns.update(_event_columns(rng, contract, frame, period))
    written = _Conventions(
        np.random.default_rng([pop.seed, zlib.crc32(f"{contract.name}/{period}".encode())]), rates
    )
    columns.update(_location_columns(rng, contract, frame, region, rates, loc_errors, written))
    views: dict[str, _PersonView] = {}
    for role in contract.roles:
        if role not in frame:
            raise ValueError(f"{contract.name}: the synthetic spec has no actor {role!r}")
        views[role] = _PersonView(rng, contract, role, frame, pop, rates)
        columns.update(_person_columns(rng, contract, role, views[role], region, frame, written))
    table = pd.DataFrame({c: columns[c] for c in contract.columns})

    # Optional fields left blank.
    for f in contract.fields:
        if f.required or f.attribute == "ref" or f.concept in ("event.date", "event.type"):
            continue  # agency systems make these mandatory
        m = rng.random(n) < rates.missing_field
        table.loc[m, f.name] = None
        for i in np.flatnonzero(m):
            record_errors[i].append(f"missing_field:{f.name}")

    # Truth: one row per record, plus one per person named and one for the location.
    props = region.properties
    uprns = props["uprn"].to_numpy()
    ref_field = next((f.name for f in contract.fields if f.concept == "event.ref"), None)
    ref = table[ref_field].astype(object).to_numpy() if ref_field else np.full(n, None)
    base = {"event_id": frame["event_id"].to_numpy(), "record_ref": ref}
    parts = [
        pd.DataFrame(
            {
                **base,
                "role": "record",
                "person_id": None,
                "uprn": None,
                "current_uprn": None,
                "usrn": None,
                "location_kind": None,
                "errors": [";".join(e) for e in record_errors],
                "row": np.arange(n),
            }
        )
    ]
    if contract.fields_for("location"):
        lp = frame["loc_prop"].to_numpy()
        ls = frame["loc_street"].to_numpy()
        usrn = np.where(
            lp >= 0,
            props["usrn"].to_numpy()[np.maximum(lp, 0)],
            np.where(ls >= 0, region.streets["usrn"].to_numpy()[np.maximum(ls, 0)], -1),
        )
        parts.append(
            pd.DataFrame(
                {
                    **base,
                    "role": "location",
                    "person_id": None,
                    "uprn": np.where(lp >= 0, uprns[np.maximum(lp, 0)], -1),
                    "current_uprn": None,
                    "usrn": usrn,
                    "location_kind": frame["loc_form"].to_numpy(),
                    "errors": [";".join(e) for e in loc_errors],
                    "row": np.arange(n),
                }
            )
        )
    pid = pop.col("person_id")
    for role, v in views.items():
        delivered = {f.attribute for f in contract.fields_for(role)} & ADDRESS_ATTRS
        parts.append(
            pd.DataFrame(
                {
                    **base,
                    "role": role,
                    "person_id": np.where(v.has, pid[np.maximum(v.idx, 0)], None),
                    "uprn": np.where(v.has & bool(delivered), uprns[np.maximum(v.uprn, 0)], -1),
                    "current_uprn": np.where(v.has, uprns[np.maximum(v.current_uprn, 0)], -1),
                    "usrn": -1,
                    "location_kind": None,
                    "errors": [";".join(e) for e in v.errors],
                    "row": np.arange(n),
                }
            )
        )
    truth = pd.concat(parts, ignore_index=True)

    # Records supplied twice: the copy follows the original.
    dup = rng.random(n) < rates.duplicate_record
    order = np.repeat(np.arange(n), 1 + dup)
    table = table.iloc[order].reset_index(drop=True)
    row_number = np.arange(1, len(order) + 1)
    is_copy = np.r_[False, order[1:] == order[:-1]][: len(order)]
    first_row = pd.Series(row_number[~is_copy], index=order[~is_copy])
    copies = pd.Series(row_number[is_copy], index=order[is_copy])
    truth["row_number"] = truth["row"].map(first_row)
    dup_truth = truth[truth["row"].isin(copies.index)].copy()
    dup_truth["row_number"] = dup_truth["row"].map(copies)
    dup_truth.loc[dup_truth["role"] == "record", "errors"] = dup_truth.loc[
        dup_truth["role"] == "record", "errors"
    ].map(lambda e: ";".join(filter(None, [e, "duplicate_record"])))
    truth = pd.concat([truth, dup_truth], ignore_index=True).drop(columns="row")
    truth["row_number"] = truth["row_number"].astype(np.int64)
    truth = truth.sort_values(["row_number", "role"], kind="stable").reset_index(drop=True)
    for c in ("uprn", "current_uprn", "usrn"):
        truth[c] = pd.array(
            [None if (x is None or x < 0) else int(x) for x in truth[c]], dtype="Int64"
        )
    truth.insert(0, "period", period)
    truth.insert(0, "feed", contract.name)
    return Rendered(table, truth)
