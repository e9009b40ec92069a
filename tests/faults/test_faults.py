"""A short selection of the fault-injection harness (``benchmarks/faults.py``): kills aimed
at writes and at a random moment, every corruption case, one race, a full disk."""
import pytest


@pytest.mark.parametrize("scenario, write", [
    ("gcn", ("checkpoint", 2, "before")),   # a complete temporary checkpoint, never renamed
    ("twalk", ("twalk-cache", 1, "before")),  # while the feature cache is written
    ("compare", ("index", 2, "before")),    # a grid killed between a run's results and its index line
    ("gcn", None),                          # a random moment
])
def test_killed_run_resumes_to_the_uninterrupted_results(faults, refs, work, rng, scenario, write):
    tally = faults.Tally()
    name = f"kill-{scenario}-{'-'.join(map(str, write)) if write else 'random'}"
    faults.kill_case(faults.scenarios(work)[scenario], refs[scenario], work / name, rng, tally, write)
    assert tally.ok(), tally.failures


@pytest.mark.parametrize("case", [
    "checkpoint-truncated", "checkpoint-flipped", "split-cache-flipped", "twalk-cache-flipped",
    "results-truncated", "results-digit", "index-torn", "raw-download-flipped"])
def test_damaged_artefact_is_reported_and_recomputed_or_refused(faults, refs, work, rng, case):
    assert case in faults.CORRUPTIONS
    assert faults.corruption_case(case, work, refs, rng) == []


def test_one_configuration_started_twice_trains_once(faults, refs, work):
    tally = faults.Tally()
    faults.race_same_run(work, refs, tally)
    assert tally.ok(), tally.failures


def test_full_disk_is_one_line_and_the_run_resumes_with_space(faults, refs, work):
    tally = faults.Tally()
    faults.disk_full_case(work, refs["gcn"], tally)
    if tally.skipped:
        pytest.skip(tally.skipped[0])
    assert tally.ok(), tally.failures
