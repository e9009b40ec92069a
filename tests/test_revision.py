import subprocess

from gnn_sparse.utils.revision import source_revision


def _git(cwd, *args):
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd,
                          capture_output=True, text=True, check=True).stdout.strip()


def test_revision_names_the_commit_and_marks_modified_tracked_files(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "a.py").write_text("x = 1\n")
    _git(repo, "add", "a.py")
    _git(repo, "commit", "-q", "-m", "one")
    commit = _git(repo, "rev-parse", "--short=12", "HEAD")
    assert source_revision(repo) == commit
    (repo / "untracked.txt").write_text("not code\n")
    source_revision.cache_clear()
    assert source_revision(repo) == commit  # untracked files do not change the code
    (repo / "a.py").write_text("x = 2\n")
    source_revision.cache_clear()
    assert source_revision(repo) == commit + "+dirty"


def test_revision_outside_a_checkout_is_none(tmp_path):
    assert source_revision(tmp_path) is None


def test_results_record_the_revision_of_the_code_loaded_not_the_checkout_at_the_end(monkeypatch):
    import gnn_sparse.utils.revision as revision
    from gnn_sparse.training.results import library_versions

    loaded = library_versions()["gnn_sparse_revision"]
    monkeypatch.setattr(revision, "_git", lambda cwd, *args: "0123456789ab")  # a commit made during the run
    source_revision.cache_clear()
    try:
        assert library_versions()["gnn_sparse_revision"] == loaded
    finally:
        source_revision.cache_clear()
