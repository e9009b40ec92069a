"""The exploration study's results page (gnn_sparse.reports.study_report, ``gnn-sparse study``)."""
from pathlib import Path

import pandas as pd
import pytest

from gnn_sparse.cli import main
from gnn_sparse.reports.study_report import confirmation_markdown

ROOT = Path(__file__).resolve().parents[2]
STUDY = ROOT / "docs" / "reports" / "exploration_study"
TUNING = [f"{g}={STUDY / 'tuning' / g / 'results'}" for g in ("email-eu", "college-msg")]


def test_the_committed_results_page_is_what_the_committed_runs_give(tmp_path):
    out = tmp_path / "study.md"
    assert main(["study", "--tuning", *TUNING, "--out", str(out)]) == 0
    made, committed = out.read_text(), (STUDY / "README.md").read_text()
    tables = lambda text: text[text.index("## Tuning"):text.index("## Confirmation")]  # noqa: E731
    assert tables(made) == tables(committed)
    assert "| dst-ee-ucb | 0.1 |" in made and "**chosen**" in made


def claim(dataset, claim_id, mean, p, tost=0.3):
    return {"dataset": dataset, "sparsity": float(claim_id.rsplit("-", 1)[1]), "claim_id": claim_id, "mean": mean,
            "std": 1.0, "ci_low": mean - 1, "ci_high": mean + 1, "n": 10, "threshold": 0.0, "p_value": p,
            "tost_p": tost, "report": f"exploration-{dataset}"}


def test_the_confirmation_tables_use_one_holm_family_per_hypothesis():
    claims = pd.DataFrame([claim("mathoverflow", "dst-ee-ucb-0.1-beats-rigl-0.9", 0.6, 0.001),
                           claim("mathoverflow", "dst-ee-ucb-0.1-beats-rigl-0.98", 0.1, 0.5),
                           claim("digits", "dst-ee-quota-0.1-beats-rigl-0.98", -2.0, 0.002),
                           claim("digits", "dst-ee-ucb-0.1-beats-never-active-first-0.98", 0.4, 0.2)])
    studies = pd.DataFrame([
        {"report": "exploration-digits", "sparsity": 0.98, "method": "rigl", "row": "RigL", "zero_grad_share": 0.05},
        {"report": "exploration-digits", "sparsity": 0.98, "method": "dst-ee-ucb", "row": "DST-EE ucb (c=0.1)",
         "zero_grad_share": 0.01}])
    text = "\n".join(confirmation_markdown(claims, studies))
    assert "H1: variant - RigL (3 tests, one Holm family)" in text
    assert "H2: variant - never-active first (1 tests, one Holm family)" in text
    assert "| dst-ee-ucb (0.1) | 2 | 1 | 0 | win |" in text          # beats RigL at 90%, worse nowhere
    assert "| dst-ee-quota (0.1) | 1 | 0 | 1 | no win |" in text      # significantly worse at 98%
    assert "| exploration-digits | 98% | DST-EE ucb (c=0.1) | 0.010 | 0.050 | yes |" in text


@pytest.mark.parametrize("argv, message", [
    (["--tuning", "email-eu", "--out", "x.md"], "--tuning takes DATASET=RESULTS_DIR"),
    (["--tuning", "email-eu=missing", "--out", "x.md"], "no results folder"),
    (["--tuning", *TUNING, "--confirmation", "nowhere", "--out", "x.md"], "claims.csv: missing"),
])
def test_bad_input_exits_2_with_one_line(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["study", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "x.md").exists()
