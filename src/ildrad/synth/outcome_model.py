"""The generating model of synthetic SSc-ILD cohorts: disease course, lung function, scans, death.

Everything follows from a :class:`~ildrad.synth.cohort_spec.CohortSpec` and a seed.

Patients (one draw each, at entry = the first scan, t = 0, t in years since entry)
    sex, age, smoking, total ILD extent ``E0 = max_extent * expit(N(mu, sd))`` split into ground
    glass, reticulation, honeycombing and consolidation by a Dirichlet draw, a progression rate
    ``r ~ N(mean, sd)`` (percentage points of lung per year) split between patterns by
    ``progression_shares``, emphysema, healthy FVC and DLCO, treatment (start time and drug) and a
    frailty ``u ~ N(0, frailty_sd^2)``.

Disease course (deterministic given the patient)
    extent of pattern p: ``e_p(t) = max(0, e_p0 + r_p * tau(t))`` where ``tau(t) = t`` before
    treatment and grows ``progression_factor`` times slower after; the total is capped at
    ``max_extent``. True FVC / DLCO % predicted = healthy value + slope * total extent (DLCO also
    falls with emphysema). Fibrosis progression = d/dt (reticulation + honeycombing) in
    percentage points per year.

Death
    hazard ``h(t) = h0(t) * exp(eta(t) + u)``; ``h0`` is exponential, Weibull or Gompertz in t;
    ``eta(t)`` is the linear predictor of the observable state at t::

        eta = b_hc * 10 e_hc + b_ret * 10 e_ret + b_ggo * 10 e_ggo + b_cons * 10 e_cons
            + b_prog * progression + b_fvc * (FVC - ref)/10 + b_dlco * (DLCO - ref)/10
            + b_age * (age - ref)/10 + b_male * male

    The cumulative hazard is integrated on a grid of ``step_days`` (baseline exact, ``eta`` at the
    step midpoints) and a death time is drawn by inversion (``H(T) = Exp(1)``).
    Each scan's truth row carries ``linear_predictor = eta(scan date)`` (the oracle score: the
    hazard at the scan date up to the frailty and the baseline, which is common to all scans at
    the same time since entry) and ``frailty = u``. ``true_risk_{1,3,5}y`` is the exact
    probability of death within h years after the scan given survival to it and the patient's
    disease course, the frailty integrated over its distribution among survivors.

Censoring
    administrative at ``administrative_end`` and loss to follow-up with an exponential hazard
    ``loss_to_followup_per_year`` (independent of risk). A patient is lost to follow-up when alive
    and no longer followed before ``administrative_end``.

Scans and visits
    the first scan at entry, then gaps uniform in ``[scan_interval_years_min, max]`` while the
    patient is followed, at most ``max_scans``; each scan gets a scanner batch drawn by weight
    (independent of everything else). Pulmonary-function visits happen near every scan and
    routinely in between; measured values add noise, DLCO below a threshold cannot be performed.

Event rates are fractions of scans (HRCT studies) followed by death within h years of the scan
date (:func:`cohort_summary`); a scan is assessable at h when death falls within h or follow-up
extends beyond h.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from scipy.special import expit

from ildrad.synth.cohort_spec import PATTERNS, CohortSpec, parse_cohort_spec

__all__ = [
    "HORIZONS_YEARS",
    "CohortTables",
    "calibrate_spec",
    "cohort_summary",
    "horizon_outcome",
    "imaging_ceiling_auc",
    "linear_predictor",
    "simulate_cohort_tables",
]

log = logging.getLogger(__name__)

#: Horizons (years) of the true risks and event rates.
HORIZONS_YEARS: tuple[int, ...] = (1, 3, 5)
DAYS_PER_YEAR = 365.25
_CHUNK = 2000  # patients integrated at once (memory bound; results do not depend on it)
_PROGRESSION_DT = 0.05  # years, central difference for the progression rate
_GAUSS_HERMITE_NODES = 40
_EMPHYSEMA_CAP = 0.3

_FEMALE_NAMES = (
    "ANNA",
    "MARIA",
    "ELENA",
    "SOFIA",
    "LAURA",
    "CLAIRE",
    "HANNA",
    "JULIA",
    "NORA",
    "EVA",
    "IRENE",
    "LUCIA",
    "MARTA",
    "ROSA",
    "INGRID",
    "GRETA",
    "ALICE",
    "EMMA",
    "LENA",
    "MIRIAM",
)
_MALE_NAMES = (
    "JOHN",
    "PETER",
    "MARCO",
    "LUCAS",
    "DAVID",
    "KARL",
    "PAUL",
    "OSCAR",
    "HUGO",
    "IVAN",
    "FELIX",
    "TOMAS",
    "ANDRE",
    "NIKO",
    "SAMUEL",
    "VICTOR",
    "LEON",
    "MAX",
    "OTTO",
    "BRUNO",
)
_FAMILY_NAMES = (
    "MUSTERMANN",
    "DOE",
    "ROSSI",
    "DUBOIS",
    "NOVAK",
    "JANSEN",
    "LINDQVIST",
    "GARCIA",
    "KOWALSKI",
    "MURPHY",
    "SILVA",
    "MEIER",
    "BERGER",
    "HOLM",
    "VERMEER",
    "PETROV",
    "COSTA",
    "LAMBERT",
    "FISCHER",
    "MORENO",
    "NILSSON",
    "HUBER",
    "BIANCHI",
    "KRAUSE",
    "WEBER",
    "SANTOS",
)

#: Columns of ``clinical.csv`` / ``visits.csv`` (the contract with ``ildrad index``).
CLINICAL_COLUMNS = (
    "patient_id",
    "sex",
    "birth_date",
    "smoking",
    "death_date",
    "last_followup_date",
)
VISIT_COLUMNS = ("patient_id", "date", "fvc_pct", "dlco_pct", "dlco_cannot_perform", "treatment")


@dataclass(frozen=True)
class CohortTables:
    """A simulated cohort at the level of tables.

    ``clinical`` and ``visits`` are what a registry exports (``clinical.csv``, ``visits.csv``);
    ``scans`` is ``truth/scans.csv`` (one row per analysable CT series) and ``patients``
    ``truth/patients.csv`` (the latent patient parameters); ``names`` holds the fake patient
    names and is written only into DICOM headers.
    """

    clinical: pd.DataFrame
    visits: pd.DataFrame
    scans: pd.DataFrame
    patients: pd.DataFrame
    names: pd.DataFrame
    spec: CohortSpec
    seed: int


@dataclass(frozen=True)
class _Patients:
    """Latent parameters of the patients, one array entry per patient."""

    male: np.ndarray
    age0: np.ndarray
    extent0: np.ndarray  # (n, 4) pattern extents at entry (fractions)
    rate: np.ndarray  # (n, 4) pattern progression (fraction per year)
    emphysema: np.ndarray
    fvc_healthy: np.ndarray
    dlco_healthy: np.ndarray
    volume_healthy: np.ndarray
    treat_start: np.ndarray  # years since entry; inf when untreated
    frailty: np.ndarray

    def subset(self, rows: np.ndarray | slice, column: bool = False) -> _Patients:
        """The patients ``rows``; ``column`` adds a trailing axis to broadcast against time."""
        out = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)[rows]
            out[field.name] = value[..., None] if column else value
        return _Patients(**out)


def _rngs(seed: int, names: tuple[str, ...]) -> dict[str, np.random.Generator]:
    """One independent generator per purpose, so adding draws in one does not shift the others."""
    children = np.random.SeedSequence(seed).spawn(len(names))
    return {name: np.random.default_rng(child) for name, child in zip(names, children, strict=True)}


def _categorical(
    rng: np.random.Generator, weights: tuple[float, ...] | list[float], n: int
) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(w), size=n, p=w / w.sum())


def _draw_patients(
    spec: CohortSpec, n: int, rng: np.random.Generator
) -> tuple[_Patients, np.ndarray, np.ndarray]:
    """Latent parameters, smoking codes (0 never, 1 former, 2 current) and drug codes."""
    demo, dis, phys, treat = spec.demographics, spec.disease, spec.physiology, spec.treatment
    male = rng.random(n) < demo.male_fraction
    age0 = np.clip(
        rng.normal(demo.age_at_entry_mean, demo.age_at_entry_sd, n),
        demo.age_at_entry_min,
        demo.age_at_entry_max,
    )
    smoking = _categorical(rng, (demo.smoking.never, demo.smoking.former, demo.smoking.current), n)
    total0 = dis.max_extent * expit(rng.normal(dis.extent_logit_mean, dis.extent_logit_sd, n))
    base = np.asarray(dis.baseline_shares.as_tuple())
    alpha = np.maximum(dis.baseline_share_concentration * base / base.sum(), 1e-3)
    extent0 = total0[:, None] * rng.dirichlet(alpha, n)
    prog_shares = np.asarray(dis.progression_shares.as_tuple())
    total_rate = rng.normal(dis.progression_mean_pct_per_year, dis.progression_sd_pct_per_year, n)
    rate = total_rate[:, None] / 100.0 * (prog_shares / prog_shares.sum())
    p_emph = np.where(
        smoking == 0, dis.emphysema_probability_never_smoker, dis.emphysema_probability_smoker
    )
    emph_size = np.minimum(rng.exponential(max(dis.emphysema_extent_mean, 1e-9), n), _EMPHYSEMA_CAP)
    emphysema = np.where(rng.random(n) < p_emph, emph_size, 0.0)
    fvc_h = rng.normal(phys.fvc_pct_healthy_mean, phys.fvc_pct_healthy_sd, n)
    dlco_h = rng.normal(phys.dlco_pct_healthy_mean, phys.dlco_pct_healthy_sd, n)
    vol_mean = np.where(male, phys.lung_volume_ml_male_mean, phys.lung_volume_ml_female_mean)
    volume = np.maximum(rng.normal(vol_mean, phys.lung_volume_ml_sd), 0.3 * vol_mean)
    p_treat = expit(
        treat.probability_logit_intercept + treat.probability_logit_per_10pct_extent * 10.0 * total0
    )
    treated = rng.random(n) < p_treat
    start = rng.uniform(0.0, treat.start_within_years, n)
    drug = _categorical(rng, list(treat.drugs.values()), n)
    frailty = rng.normal(0.0, 1.0, n) * spec.hazard.frailty_sd
    params = _Patients(
        male=male.astype(float),
        age0=age0,
        extent0=extent0,
        rate=rate,
        emphysema=emphysema,
        fvc_healthy=fvc_h,
        dlco_healthy=dlco_h,
        volume_healthy=volume,
        treat_start=np.where(treated, start, np.inf),
        frailty=frailty,
    )
    return params, smoking, drug


def _pattern_extents(spec: CohortSpec, p: _Patients, t: np.ndarray) -> np.ndarray:
    """Extents of the four patterns at t (years since entry), shape ``(4,) + broadcast``."""
    factor = spec.treatment.progression_factor
    tau = np.minimum(t, p.treat_start) + factor * np.maximum(t - p.treat_start, 0.0)
    # p.extent0 / p.rate have the pattern axis first after take(): (m, 4, 1) -> move it out
    e0 = np.moveaxis(p.extent0, 1, 0) if p.extent0.ndim == 3 else p.extent0.T
    r = np.moveaxis(p.rate, 1, 0) if p.rate.ndim == 3 else p.rate.T
    extents = np.maximum(e0 + r * tau, 0.0)
    total = extents.sum(axis=0)
    scale = np.where(
        total > spec.disease.max_extent, spec.disease.max_extent / np.maximum(total, 1e-12), 1.0
    )
    return extents * scale


def disease_state(spec: CohortSpec, p: _Patients, t: np.ndarray) -> dict[str, np.ndarray]:
    """Observable disease state at t years since entry (arrays broadcast like ``p`` and ``t``)."""
    phys = spec.physiology
    t = np.asarray(t, dtype=float)
    extents = _pattern_extents(spec, p, t)
    total = extents.sum(axis=0)
    fibrosis = lambda e: e[PATTERNS.index("reticulation")] + e[PATTERNS.index("honeycombing")]  # noqa: E731
    t_lo = np.maximum(t - _PROGRESSION_DT, 0.0)
    t_hi = t_lo + 2 * _PROGRESSION_DT
    progression = (
        100.0
        * (fibrosis(_pattern_extents(spec, p, t_hi)) - fibrosis(_pattern_extents(spec, p, t_lo)))
        / (2 * _PROGRESSION_DT)
    )
    state = {f"extent_{name}": extents[i] for i, name in enumerate(PATTERNS)}
    state["extent_ild"] = total
    state["extent_emphysema"] = np.broadcast_to(p.emphysema, total.shape)
    state["fibrosis_progression_pct_per_year"] = progression
    state["fvc_pct_true"] = np.maximum(
        p.fvc_healthy + phys.fvc_pct_per_extent * total, phys.floor_pct
    )
    state["dlco_pct_true"] = np.maximum(
        p.dlco_healthy
        + phys.dlco_pct_per_extent * total
        + phys.dlco_pct_per_emphysema * p.emphysema,
        phys.floor_pct,
    )
    state["age_years"] = p.age0 + t
    state["male"] = np.broadcast_to(p.male, total.shape)
    volume = p.volume_healthy * (
        1.0 - phys.lung_volume_loss_per_fibrotic_extent * fibrosis(extents)
    )
    state["lung_volume_ml"] = volume
    state["right_lung_volume_ml"] = volume * phys.right_lung_fraction
    state["left_lung_volume_ml"] = volume * (1.0 - phys.right_lung_fraction)
    return state


def linear_predictor(spec: CohortSpec, state: dict[str, np.ndarray]) -> np.ndarray:
    """eta: the observable part of the log-hazard (module docstring) from a disease state."""
    c, ref = spec.hazard.coefficients, spec.hazard.reference
    return (
        c.honeycombing_per_10pct * 10.0 * state["extent_honeycombing"]
        + c.reticulation_per_10pct * 10.0 * state["extent_reticulation"]
        + c.ground_glass_per_10pct * 10.0 * state["extent_ground_glass"]
        + c.consolidation_per_10pct * 10.0 * state["extent_consolidation"]
        + c.fibrosis_progression_per_pct_per_year * state["fibrosis_progression_pct_per_year"]
        + c.fvc_per_10pct * (state["fvc_pct_true"] - ref.fvc_pct) / 10.0
        + c.dlco_per_10pct * (state["dlco_pct_true"] - ref.dlco_pct) / 10.0
        + c.age_per_10_years * (state["age_years"] - ref.age_years) / 10.0
        + c.male * state["male"]
    )


def baseline_cumulative_hazard(spec: CohortSpec, t: np.ndarray) -> np.ndarray:
    """H0(t) of the spec's baseline (t in years since entry)."""
    b = spec.hazard.baseline
    t = np.maximum(np.asarray(t, dtype=float), 0.0)
    if b.kind == "exponential":
        return b.rate_per_year * t
    if b.kind == "weibull":
        return b.rate_per_year * t**b.weibull_shape
    if b.gompertz_slope_per_year == 0:
        return b.rate_per_year * t
    return b.rate_per_year / b.gompertz_slope_per_year * np.expm1(b.gompertz_slope_per_year * t)


def _hazard_grid(spec: CohortSpec, p: _Patients, grid: np.ndarray) -> np.ndarray:
    """Cumulative observable hazard (frailty excluded) at the grid points, shape (m, K)."""
    mid = 0.5 * (grid[1:] + grid[:-1])
    eta = linear_predictor(spec, disease_state(spec, p, mid[None, :]))
    increments = np.diff(baseline_cumulative_hazard(spec, grid))[None, :] * np.exp(eta)
    return np.concatenate([np.zeros((eta.shape[0], 1)), np.cumsum(increments, axis=1)], axis=1)


def _interp_rows(values: np.ndarray, grid_step: float, t: np.ndarray) -> np.ndarray:
    """Linear interpolation of each row of ``values`` (on a regular grid) at times ``t`` (m, j)."""
    pos = np.clip(t / grid_step, 0.0, values.shape[1] - 1.000001)
    idx = np.floor(pos).astype(int)
    frac = pos - idx
    rows = np.arange(values.shape[0])[:, None]
    return values[rows, idx] * (1 - frac) + values[rows, idx + 1] * frac


def _first_crossing(cumhaz: np.ndarray, grid: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Time where each row of the cumulative hazard reaches ``target`` (inf when never)."""
    above = cumhaz >= target[:, None]
    reached = above.any(axis=1)
    k = np.argmax(above, axis=1)
    k = np.maximum(k, 1)
    rows = np.arange(cumhaz.shape[0])
    h_lo, h_hi = cumhaz[rows, k - 1], cumhaz[rows, k]
    frac = np.clip((target - h_lo) / np.maximum(h_hi - h_lo, 1e-300), 0.0, 1.0)
    t = grid[k - 1] + frac * (grid[k] - grid[k - 1])
    return np.where(reached, t, np.inf)


def _spec_digest(spec: CohortSpec) -> str:
    return hashlib.sha256(
        json.dumps(spec.model_dump(mode="json"), sort_keys=True).encode()
    ).hexdigest()[:16]


def _days(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def _to_dates(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype="int64").astype("datetime64[D]")


def deterministic_uid(namespace: str, *parts: object) -> str:
    """A DICOM UID under the 2.25 root (ISO/IEC 9834-8: a 128-bit integer, here a SHA-256 digest
    of ``namespace`` and ``parts``): the same inputs always give the same UID."""
    text = "\x1f".join([namespace, *map(str, parts)])
    return "2.25." + str(int.from_bytes(hashlib.sha256(text.encode()).digest()[:16], "big"))


def simulate_cohort_tables(
    spec: CohortSpec | None, n_patients: int, seed: int, *, pet: bool = False
) -> CohortTables:
    """Simulate a cohort at the level of tables (no images): thousands of patients in seconds.

    ``pet`` adds a PET/CT study (its low-dose CT is a truth row of kind ``petct``) on the first
    scan date of ``spec.pet.fraction_of_patients`` of the patients. The same ``spec``,
    ``n_patients`` and ``seed`` always give the same tables, UIDs included; ``ildrad synth
    cohort`` writes these tables and the images that match them.
    """
    from ildrad.errors import InputError

    spec = spec if spec is not None else parse_cohort_spec({})
    if n_patients < 1:
        raise InputError(f"n_patients must be >= 1, got {n_patients}")
    n = int(n_patients)
    rngs = _rngs(
        seed,
        ("patients", "entry", "death", "censor", "scans", "visits", "identity", "pet", "protocol"),
    )
    params, smoking, drug = _draw_patients(spec, n, rngs["patients"])
    study, sched = spec.study, spec.schedule

    entry_day = rngs["entry"].integers(
        _days(study.enrollment_start), _days(study.enrollment_end) + 1, n
    )
    admin_years = (_days(study.administrative_end) - entry_day) / DAYS_PER_YEAR
    ltfu_rate = study.loss_to_followup_per_year
    ltfu_years = (
        rngs["censor"].exponential(1.0 / ltfu_rate, n) if ltfu_rate > 0 else np.full(n, np.inf)
    )
    exp1 = rngs["death"].exponential(1.0, n)
    uniform_gaps = rngs["scans"].uniform(
        sched.scan_interval_years_min, sched.scan_interval_years_max, (n, sched.max_scans - 1)
    )
    scan_off = _scan_schedule(spec, params, uniform_gaps)
    batch = _categorical(rngs["scans"], [b.weight for b in spec.scanners], n * sched.max_scans)
    batch = batch.reshape(n, sched.max_scans)

    death_years, cum_at_scan = _integrate(spec, params, exp1, scan_off / DAYS_PER_YEAR, admin_years)
    died = death_years <= np.minimum(admin_years, ltfu_years)
    lost = ~died & (ltfu_years < admin_years)
    admin_days = _days(study.administrative_end) - entry_day  # exact, no rounding
    event_days = np.floor(np.minimum(death_years, ltfu_years) * DAYS_PER_YEAR)
    end_off = np.maximum(np.minimum(event_days, admin_days), 1).astype(np.int64)
    valid = scan_off < end_off[:, None]

    ids = _identities(spec, n, rngs["identity"], params.male)
    namespace = f"{_spec_digest(spec)}:{seed}"
    with_pet = pet & (rngs["pet"].random(n) < spec.pet.fraction_of_patients)
    scans = _scan_rows(
        spec,
        params,
        ids,
        namespace,
        entry_day,
        scan_off,
        valid,
        batch,
        cum_at_scan,
        end_off,
        died,
        with_pet,
    )
    _add_protocol_series(spec, scans, namespace, rngs["protocol"])
    visits = _visit_rows(
        spec, params, ids, entry_day, scan_off, valid, end_off, died, drug, rngs["visits"]
    )
    clinical = pd.DataFrame(
        {
            "patient_id": ids["patient_id"],
            "sex": np.where(params.male > 0, "M", "F"),
            "birth_date": _to_dates(
                entry_day - np.round(params.age0 * DAYS_PER_YEAR).astype(np.int64)
            ),
            "smoking": np.asarray(["never", "former", "current"])[smoking],
            "death_date": np.where(died, _to_dates(entry_day + end_off), np.datetime64("NaT")),
            "last_followup_date": _to_dates(entry_day + end_off),
        }
    )
    clinical["death_date"] = clinical["death_date"].astype("datetime64[s]")
    drugs = np.asarray(list(spec.treatment.drugs))
    treated = np.isfinite(params.treat_start)
    patients = pd.DataFrame(
        {
            "patient_id": ids["patient_id"],
            "entry_date": _to_dates(entry_day),
            "frailty": params.frailty,
            "progression_pct_per_year": params.rate.sum(axis=1) * 100.0,
            "extent_ild_at_entry": params.extent0.sum(axis=1),
            "treatment": np.where(treated, drugs[drug], "none"),
            "treatment_start_date": np.where(
                treated,
                _to_dates(
                    entry_day
                    + np.round(np.where(treated, params.treat_start, 0) * DAYS_PER_YEAR).astype(
                        np.int64
                    )
                ),
                np.datetime64("NaT"),
            ),
            "death": died,
            "lost_to_followup": lost,
            "censoring": np.where(
                died, "death", np.where(lost, "lost_to_followup", "administrative")
            ),
            "n_scans": valid.sum(axis=1),
        }
    )
    names = pd.DataFrame({"patient_id": ids["patient_id"], "patient_name": ids["patient_name"]})
    return CohortTables(clinical, visits, scans, patients, names, spec, seed)


def _scan_schedule(spec: CohortSpec, params: _Patients, uniform_gaps: np.ndarray) -> np.ndarray:
    """Candidate scan days since entry (n, max_scans): 0, then gaps that shrink with risk.

    gap_j = uniform draw * exp(-interval_shortening_per_unit_lp * eta(previous scan)), at least
    ``min_interval_years`` (sicker patients are scanned more often, as in clinical registries).
    """
    sched = spec.schedule
    n = uniform_gaps.shape[0]
    times = np.zeros((n, sched.max_scans))
    for j in range(1, sched.max_scans):
        eta = linear_predictor(spec, disease_state(spec, params, times[:, j - 1]))
        gap = uniform_gaps[:, j - 1] * np.exp(-sched.interval_shortening_per_unit_lp * eta)
        times[:, j] = times[:, j - 1] + np.maximum(gap, sched.min_interval_years)
    return np.floor(times * DAYS_PER_YEAR).astype(np.int64)


def _integrate(
    spec: CohortSpec,
    params: _Patients,
    exp1: np.ndarray,
    scan_t: np.ndarray,
    admin_years: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Death times and the observable cumulative hazard at each candidate scan time + horizons.

    Returns ``death_years`` (n,) and ``cum`` (n, max_scans, 1 + len(HORIZONS_YEARS)).
    """
    n = len(exp1)
    step = spec.hazard.step_days / DAYS_PER_YEAR
    t_max = max(float(admin_years.max()), float(scan_t.max())) + max(HORIZONS_YEARS) + 2 * step
    grid = np.arange(0.0, t_max + step, step)
    offsets = np.asarray((0, *HORIZONS_YEARS), dtype=float)
    death = np.empty(n)
    cum = np.empty((n, scan_t.shape[1], len(offsets)))
    for start in range(0, n, _CHUNK):
        rows = slice(start, min(start + _CHUNK, n))
        cumhaz = _hazard_grid(spec, params.subset(rows, column=True), grid)
        death[rows] = _first_crossing(cumhaz, grid, exp1[rows] * np.exp(-params.frailty[rows]))
        times = scan_t[rows][:, :, None] + offsets[None, None, :]
        m = times.shape[0]
        cum[rows] = _interp_rows(cumhaz, step, times.reshape(m, -1)).reshape(times.shape)
    return death, cum


def _true_risks(spec: CohortSpec, cum: np.ndarray) -> np.ndarray:
    """P(death within each horizon | alive at the scan, disease course), frailty integrated out.

    ``cum`` (rows, 1 + horizons) holds the observable cumulative hazard at the scan and at the
    scan + each horizon. The frailty u = sd * z has posterior weight proportional to
    phi(z) exp(-e^u H(scan)) among survivors to the scan (Gauss-Hermite quadrature in z).
    """
    sd = spec.hazard.frailty_sd
    increment = cum[:, 1:] - cum[:, :1]
    if sd == 0:
        return -np.expm1(-increment)
    z, w = np.polynomial.hermite_e.hermegauss(_GAUSS_HERMITE_NODES)
    multiplier = np.exp(sd * z)  # (Q,)
    log_post = np.log(w)[None, :] - multiplier[None, :] * cum[:, :1]
    log_post -= log_post.max(axis=1, keepdims=True)
    post = np.exp(log_post)
    post /= post.sum(axis=1, keepdims=True)
    survive = np.exp(-multiplier[None, :, None] * increment[:, None, :])  # (rows, Q, horizons)
    return 1.0 - np.einsum("rq,rqh->rh", post, survive)


def _identities(
    spec: CohortSpec, n: int, rng: np.random.Generator, male: np.ndarray
) -> dict[str, np.ndarray]:
    numbers = rng.choice(900_000, size=n, replace=False) + 100_000
    family = np.asarray(_FAMILY_NAMES)[rng.integers(0, len(_FAMILY_NAMES), n)]
    female_given = np.asarray(_FEMALE_NAMES)[rng.integers(0, len(_FEMALE_NAMES), n)]
    male_given = np.asarray(_MALE_NAMES)[rng.integers(0, len(_MALE_NAMES), n)]
    given = np.where(male > 0, male_given, female_given)
    return {
        "patient_id": np.asarray([f"{spec.identity.patient_id_prefix}{k:06d}" for k in numbers]),
        "patient_name": np.char.add(np.char.add(family, "^"), given),
    }


def _state_frame(
    spec: CohortSpec, params: _Patients, patient: np.ndarray, t: np.ndarray
) -> pd.DataFrame:
    state = disease_state(spec, params.subset(patient), t)
    frame = pd.DataFrame({key: np.asarray(value, dtype=float) for key, value in state.items()})
    frame["linear_predictor"] = linear_predictor(spec, state)
    return frame.drop(columns=["male"])


def _scan_rows(
    spec: CohortSpec,
    params: _Patients,
    ids: dict[str, np.ndarray],
    namespace: str,
    entry_day: np.ndarray,
    scan_off: np.ndarray,
    valid: np.ndarray,
    batch: np.ndarray,
    cum: np.ndarray,
    end_off: np.ndarray,
    died: np.ndarray,
    with_pet: np.ndarray,
) -> pd.DataFrame:
    patient, slot = np.nonzero(valid)
    kinds = np.full(len(patient), "hrct", dtype=object)
    pet_patients = np.nonzero(with_pet)[0]
    patient = np.concatenate([patient, pet_patients])
    slot = np.concatenate([slot, np.zeros(len(pet_patients), dtype=int)])
    kinds = np.concatenate([kinds, np.full(len(pet_patients), "petct", dtype=object)])
    order = np.lexsort((kinds == "petct", slot, patient))
    patient, slot, kinds = patient[order], slot[order], kinds[order]

    t = scan_off[patient, slot] / DAYS_PER_YEAR
    frame = _state_frame(spec, params, patient, t)
    risks = _true_risks(spec, cum[patient, slot])
    pid = ids["patient_id"][patient]
    is_pet = kinds == "petct"

    def uid(row: int, *parts: object) -> str:
        return deterministic_uid(
            namespace, pid[row], "pet" if is_pet[row] else "ct", slot[row], *parts
        )

    rows = range(len(patient))
    batches = spec.scanners
    bsel = batch[patient, slot]
    out = pd.DataFrame(
        {
            "patient_id": pid,
            "study_instance_uid": [uid(r, "study") for r in rows],
            "series_instance_uid": [uid(r, "series", "primary") for r in rows],
            "study_date": _to_dates(entry_day[patient] + scan_off[patient, slot]),
            "study_kind": kinds.astype(str),
            "scan_index": slot,
            "years_since_entry": t,
            "linear_predictor": frame["linear_predictor"].to_numpy(),
            "frailty": params.frailty[patient],
        }
    )
    for column in frame.columns.drop("linear_predictor"):
        out[column] = frame[column].to_numpy()
    out["scanner_batch"] = np.where(is_pet, "petct", [batches[b].name for b in bsel])
    out["manufacturer"] = np.where(
        is_pet, spec.pet.manufacturer, [batches[b].manufacturer for b in bsel]
    )
    out["model"] = np.where(is_pet, spec.pet.model, [batches[b].model for b in bsel])
    out["kernel"] = np.where(is_pet, "smooth", [batches[b].kernel for b in bsel])
    out["kernel_name"] = np.where(
        is_pet, spec.pet.ct_kernel_name, [batches[b].kernel_name for b in bsel]
    )
    out["noise_hu"] = np.where(is_pet, spec.pet.ct_noise_hu, [batches[b].noise_hu for b in bsel])
    out["second_kernel_series_instance_uid"] = [
        "" if is_pet[r] else uid(r, "series", "second_kernel") for r in rows
    ]
    out["thick_series_instance_uid"] = [
        "" if is_pet[r] else uid(r, "series", "thick") for r in rows
    ]
    out["pet_series_instance_uid"] = [uid(r, "series", "pet") if is_pet[r] else "" for r in rows]
    for k, horizon in enumerate(HORIZONS_YEARS):
        out[f"true_risk_{horizon}y"] = risks[:, k]
    out["followup_days"] = end_off[patient] - scan_off[patient, slot]
    out["death"] = died[patient]
    return out


def _add_protocol_series(
    spec: CohortSpec, scans: pd.DataFrame, namespace: str, rng: np.random.Generator
) -> None:
    """UIDs of the extra prone / expiratory acquisitions of HRCT studies ('' when absent)."""
    hrct = (scans["study_kind"] == "hrct").to_numpy()
    for kind, probability in (
        ("prone", spec.protocol.prone_probability),
        ("expiratory", spec.protocol.expiratory_probability),
    ):
        present = np.zeros(len(scans), dtype=bool)
        present[hrct] = rng.random(int(hrct.sum())) < probability  # same draws with or without PET
        scans[f"{kind}_series_instance_uid"] = [
            deterministic_uid(namespace, study, "series", kind) if flag else ""
            for study, flag in zip(scans["study_instance_uid"], present, strict=True)
        ]


def _visit_rows(
    spec: CohortSpec,
    params: _Patients,
    ids: dict[str, np.ndarray],
    entry_day: np.ndarray,
    scan_off: np.ndarray,
    valid: np.ndarray,
    end_off: np.ndarray,
    died: np.ndarray,
    drug: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Pulmonary-function visits: one near each scan, routine ones, a last one when censored."""
    sched, phys = spec.schedule, spec.physiology
    n = len(end_off)
    max_years = float(end_off.max()) / DAYS_PER_YEAR
    n_routine = int(np.ceil(max_years / sched.visit_interval_years_min)) + 1
    routine = np.floor(
        np.cumsum(
            rng.uniform(
                sched.visit_interval_years_min, sched.visit_interval_years_max, (n, n_routine)
            ),
            axis=1,
        )
        * DAYS_PER_YEAR
    ).astype(np.int64)
    near_scan = scan_off + rng.integers(
        -sched.visit_offset_from_scan_days, sched.visit_offset_from_scan_days + 1, scan_off.shape
    )
    near_scan = np.clip(near_scan, 0, end_off[:, None])
    last = np.where(died, -1, end_off)[:, None]
    days = np.concatenate([np.where(valid, near_scan, -1), routine, last], axis=1)
    keep = (days >= 0) & (days <= end_off[:, None]) & ~(died[:, None] & (days >= end_off[:, None]))
    patient, col = np.nonzero(keep)
    offset = days[patient, col]
    table = pd.DataFrame({"patient": patient, "offset": offset}).drop_duplicates()
    table = table.sort_values(["patient", "offset"], kind="stable").reset_index(drop=True)
    patient = table["patient"].to_numpy()
    offset = table["offset"].to_numpy()
    t = offset / DAYS_PER_YEAR
    state = disease_state(spec, params.subset(patient), t)
    m = len(patient)
    fvc = np.maximum(state["fvc_pct_true"] + rng.normal(0.0, phys.fvc_measurement_sd, m), 1.0)
    dlco = np.maximum(state["dlco_pct_true"] + rng.normal(0.0, phys.dlco_measurement_sd, m), 1.0)
    cannot = dlco < phys.dlco_cannot_perform_below_pct
    missing = ~cannot & (rng.random(m) < phys.dlco_missing_probability)
    drugs = np.asarray(list(spec.treatment.drugs))
    on_drug = t >= params.treat_start[patient]
    return pd.DataFrame(
        {
            "patient_id": ids["patient_id"][patient],
            "date": _to_dates(entry_day[patient] + offset),
            "fvc_pct": np.round(fvc, 1),
            "dlco_pct": np.where(cannot | missing, np.nan, np.round(dlco, 1)),
            "dlco_cannot_perform": cannot,
            "treatment": np.where(on_drug, drugs[drug[patient]], "none"),
        }
    )


def horizon_outcome(
    scans: pd.DataFrame, clinical: pd.DataFrame, horizon_years: float
) -> pd.DataFrame:
    """Per scan: ``dead`` (death within h years of the study date) and ``assessable``.

    Computed from the exported columns only (``study_date``; ``death_date`` and
    ``last_followup_date`` of clinical.csv), so it works on files read back from disk. A scan is
    assessable when death falls within h or follow-up extends beyond h.
    """
    merged = scans[["patient_id", "study_date"]].merge(
        clinical[["patient_id", "death_date", "last_followup_date"]], on="patient_id", how="left"
    )
    limit = horizon_years * DAYS_PER_YEAR
    study = pd.to_datetime(merged["study_date"])
    to_death = (pd.to_datetime(merged["death_date"]) - study).dt.days
    to_last = (pd.to_datetime(merged["last_followup_date"]) - study).dt.days
    dead = (to_death <= limit).fillna(False).to_numpy(dtype=bool)
    assessable = dead | (to_last > limit).to_numpy(dtype=bool)
    return pd.DataFrame({"dead": dead, "assessable": assessable}, index=scans.index)


def cohort_summary(tables: CohortTables) -> dict[str, float]:
    """Event rates, loss to follow-up and oracle AUCs of a cohort (HRCT scans only).

    ``death_within_{h}y``: fraction of all scans followed by death within h years;
    ``oracle_auc_{h}y``: ROC AUC of ``linear_predictor`` on the scans assessable at h;
    ``lost_to_followup``: fraction of patients alive and last seen before the administrative end.
    """
    from sklearn.metrics import roc_auc_score

    scans = tables.scans[tables.scans["study_kind"] == "hrct"]
    summary: dict[str, float] = {
        "patients": float(len(tables.clinical)),
        "scans": float(len(scans)),
    }
    for horizon in HORIZONS_YEARS:
        outcome = horizon_outcome(scans, tables.clinical, horizon)
        summary[f"death_within_{horizon}y"] = float(outcome["dead"].mean())
        sel = outcome["assessable"].to_numpy()
        y = outcome["dead"].to_numpy()[sel]
        summary[f"assessable_{horizon}y"] = float(sel.mean())
        if 0 < y.sum() < len(y):
            summary[f"oracle_auc_{horizon}y"] = float(
                roc_auc_score(y, scans["linear_predictor"].to_numpy()[sel])
            )
    admin_end = np.datetime64(tables.spec.study.administrative_end)
    alive = tables.clinical["death_date"].isna()
    before_end = pd.to_datetime(tables.clinical["last_followup_date"]) < pd.Timestamp(admin_end)
    summary["lost_to_followup"] = float((alive & before_end).mean())
    return summary


#: Truth columns of a scan that its CT shows (what exact quantitative CT would measure): the
#: inputs of :func:`imaging_ceiling_auc`.
CT_VISIBLE_COLUMNS: tuple[str, ...] = (
    "extent_ground_glass",
    "extent_reticulation",
    "extent_honeycombing",
    "extent_consolidation",
    "extent_emphysema",
    "lung_volume_ml",
)


def imaging_ceiling_auc(tables: CohortTables, horizon_years: float, folds: int = 5) -> float:
    """Cross-validated ROC AUC of death within ``horizon_years`` from what one CT shows exactly.

    A logistic regression on the scan's true :data:`CT_VISIBLE_COLUMNS` (standardised within each
    training fold), HRCT scans assessable at the horizon, ``folds`` folds grouped by patient: an
    estimate of the best that any model reading a single scan (radiomics, quantitative CT or a
    deep network) can reach on this spec. It lies below the oracle (``oracle_auc_*`` of :func:`cohort_summary`), which also
    knows age, sex, lung function, progression and the patient's future course; with the default
    spec, 3-year AUC about 0.70 against an oracle of about 0.81. Deterministic; NaN when the
    cohort is too small to estimate it (fewer patients than folds, or a training fold without
    deaths or without survivors).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    scans = tables.scans[tables.scans["study_kind"] == "hrct"]
    outcome = horizon_outcome(scans, tables.clinical, horizon_years)
    rows = outcome["assessable"].to_numpy()
    y = outcome["dead"].to_numpy()[rows]
    x = scans[list(CT_VISIBLE_COLUMNS)].to_numpy(dtype=float)[rows]
    groups = scans["patient_id"].to_numpy()[rows]
    if len(np.unique(groups)) < folds:
        return float("nan")
    score = np.zeros(len(y))
    for fit_rows, test_rows in GroupKFold(n_splits=folds).split(x, y, groups):
        if len(np.unique(y[fit_rows])) < 2:
            return float("nan")
        # standardised on the training fold only (a scale taken from all rows would leak)
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        model.fit(x[fit_rows], y[fit_rows])
        score[test_rows] = model.decision_function(x[test_rows])
    return float(roc_auc_score(y, score))


#: Targets of the default spec (the seed registry): scan fractions followed by death within
#: 1/3/5 years, patients lost to follow-up, oracle 3-year AUC.
REGISTRY_TARGETS: dict[str, float] = {
    "death_within_1y": 0.085,
    "death_within_3y": 0.15,
    "death_within_5y": 0.20,
    "lost_to_followup": 0.25,
    "oracle_auc_3y": 0.815,
}
_TARGET_SCALE = {"oracle_auc_3y": 0.015}  # absolute scale for the AUC, relative for the rates


def _calibration_candidate(spec: CohortSpec, theta: np.ndarray) -> CohortSpec:
    """The spec with log baseline rate, log Weibull shape, log frailty sd, log coefficient scale
    and log loss-to-follow-up rate set from ``theta``."""
    rate, shape, frailty, scale, ltfu = np.exp(theta)
    data = spec.model_dump(mode="json")
    data["hazard"]["baseline"]["rate_per_year"] = float(rate)
    data["hazard"]["baseline"]["weibull_shape"] = float(shape)
    data["hazard"]["frailty_sd"] = float(frailty)
    data["hazard"]["coefficients"] = {
        key: float(value * scale) for key, value in data["hazard"]["coefficients"].items()
    }
    data["study"]["loss_to_followup_per_year"] = float(ltfu)
    return CohortSpec.model_validate(data)


def calibrate_spec(
    spec: CohortSpec,
    targets: dict[str, float] | None = None,
    *,
    n_patients: int = 20_000,
    seed: int = 0,
    max_evaluations: int = 120,
) -> tuple[CohortSpec, dict[str, float]]:
    """Fit five parameters of ``spec`` to cohort-level targets by simulation (offline use).

    Adjusts the baseline rate and Weibull shape, the frailty sd, a common scale of all hazard
    coefficients (their ratios are kept) and the loss-to-follow-up rate so that
    :func:`cohort_summary` of ``n_patients`` simulated patients (common random numbers: one
    ``seed``) matches ``targets`` (default :data:`REGISTRY_TARGETS`), minimising the sum of squared
    relative errors (absolute / 0.015 for the AUC) with Nelder-Mead. Returns the calibrated spec
    (baseline kind set to ``weibull``) and its summary. This is how the parameters of
    ``default.yaml`` marked "calibrated" were set; generation itself never calibrates.
    """
    from scipy.optimize import minimize

    targets = dict(REGISTRY_TARGETS if targets is None else targets)
    data = spec.model_dump(mode="json")
    data["hazard"]["baseline"]["kind"] = "weibull"
    spec = CohortSpec.model_validate(data)
    b = spec.hazard.baseline
    theta0 = np.log(
        [
            b.rate_per_year,
            b.weibull_shape,
            max(spec.hazard.frailty_sd, 0.05),
            1.0,
            max(spec.study.loss_to_followup_per_year, 1e-3),
        ]
    )

    def loss(theta: np.ndarray) -> float:
        summary = cohort_summary(
            simulate_cohort_tables(_calibration_candidate(spec, theta), n_patients, seed)
        )
        total = 0.0
        for key, target in targets.items():
            scale = _TARGET_SCALE.get(key, target)
            total += ((summary.get(key, 0.0) - target) / scale) ** 2
        log.info("calibration %s -> loss %.4f", np.round(np.exp(theta), 4), total)
        return total

    result = minimize(
        loss,
        theta0,
        method="Nelder-Mead",
        options={
            "maxfev": max_evaluations,
            "xatol": 0.01,
            "fatol": 0.01,
            "initial_simplex": theta0
            + np.vstack([np.zeros(len(theta0)), 0.15 * np.eye(len(theta0))]),
        },
    )
    best = _calibration_candidate(spec, result.x)
    return best, cohort_summary(simulate_cohort_tables(best, n_patients, seed))
