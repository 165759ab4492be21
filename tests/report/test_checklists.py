"""Checklist rows follow what the run did: a not-done item never carries the done text."""

from ildrad.report.checklists import RunFacts, clear_items, rqs_items, tripod_ai_items


def _facts(did: bool) -> RunFacts:
    return RunFacts(
        n_patients=40, n_scans=90, n_scanners=3, n_sites=1, longitudinal_patients=20 if did else 0,
        models=("rf",) if did else (), feature_groups=("rad", "clin") if did else ("rad",),
        n_splits=5, n_repeats=1, nested_tuning=did, selection="mrmr" if did else "none",
        harmonize="scanner" if did else "none", has_discrimination=did, has_calibration=did,
        has_decision_curve=did, has_comparisons=did, has_stability=did, has_deep=did,
        missing_data_reported=did, ibsi_settings="bin width 25 HU",
    )


def test_items_a_run_did_not_do_are_not_done_and_say_so() -> None:
    tripod = tripod_ai_items(_facts(False)).set_index("item")
    assert tripod.loc["12e", "status"] == "not done"
    assert "ROC AUC" not in tripod.loc["12e", "what this run did"]
    assert tripod.loc["23b", "what this run did"] == "Calibration was not assessed."
    assert tripod.loc["12d", "status"] == "not done"
    clear = clear_items(_facts(False)).set_index("item")
    assert clear.loc["40", "status"] == "not done"
    assert "Bootstrap" not in clear.loc["40", "what this run did"]
    assert clear.loc["26", "what this run did"] == "No harmonisation."
    _, total = rqs_items(_facts(False))
    assert total <= 3  # feature selection absent costs 3 points; nothing else earned


def test_items_a_run_did_are_done_with_their_evidence() -> None:
    tripod = tripod_ai_items(_facts(True)).set_index("item")
    assert tripod.loc["12d", "status"] == "done"
    assert tripod.loc["12d", "what this run did"] == "ComBat harmonisation by scanner."
    assert tripod.loc["12f", "status"] == "not done"  # never credited without external validation
    assert tripod.loc["-", "status"] == "not done"  # nor prospective evaluation
    clear = clear_items(_facts(True)).set_index("item")
    assert clear.loc["27", "status"] == "done"
    assert clear.loc["44", "status"] == "not done"
    rqs, total = rqs_items(_facts(True))
    assert rqs.set_index("item").loc["11", "points"] == 0
    assert total > 10
