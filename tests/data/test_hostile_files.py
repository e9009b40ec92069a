"""Hostile edge-list files: each is refused with one line naming
the file and, where there is one, the line, in bounded memory and time; or, where the format
allows it, read exactly (CRLF, negative times, ids beyond int64)."""
import bz2
import gzip
import json
import os
import random
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from gnn_sparse.data import DataError, EdgeListFormatError, load_dataset, read_edge_list

ROOT = Path(__file__).resolve().parents[2]
GOOD = "".join(f"{i % 97} {i % 89} {i}\n" for i in range(20_000))  # ~250 KB: past the 64 KiB sniffing chunk
GOOD_LINES = GOOD.count("\n")
CAP_ENV = "GNN_SPARSE_MAX_DECOMPRESSED_BYTES"


def refused(path, match, line=None, columns=None):
    """The error of ``read_edge_list(path)``: names the file and ``line``, is short and one line."""
    with pytest.raises(EdgeListFormatError, match=match) as exc:
        read_edge_list(path, columns)
    message = str(exc.value)
    where = f"{path}, line {line}: " if line is not None else f"{path}: "
    assert message.startswith(where), message
    assert exc.value.line == line
    assert "\n" not in message and len(message) < len(str(path)) + 400, message
    return message


def gzip_bomb(path, unpacked, line=b"1 2 3\n", compress=gzip.compress):
    """A gzip (or, with ``compress=bz2.compress``, bzip2) file that unpacks to ~``unpacked`` bytes
    of ``line``: concatenated members (a valid stream) of 1 MiB each, ~1.5 KB packed, so 10 GB
    costs ~16 MB and 0.1 s to write."""
    block = line * ((1 << 20) // len(line))
    path.write_bytes(compress(block, 9) * (unpacked // len(block)))
    return path


def sparse_file(path, size=10 << 30):
    """A ``size``-byte file that is holes except for a few real lines (costs no disk)."""
    path.write_bytes(b"1 2 3\n2 3 4\n")
    os.truncate(path, size)
    with open(path, "ab") as f:
        f.write(b"5 6 7\n")
    return path


# --- binary input ---------------------------------------------------------------------------

@pytest.mark.parametrize("before, line", [("", 1), ("1 2 3\n", 2), (GOOD, GOOD_LINES + 1)],
                         ids=["first-line", "second-line", "past-first-chunk"])
def test_nul_bytes_are_refused_with_their_line(write, before, line):
    # the last case lies past the first chunk, so pandas is the reader that meets the NUL byte
    path = write("nul.txt", before.encode() + b"\0\0\0\n7 8 9\n")
    refused(path, "NUL byte at byte offset .*binary file", line)


def test_binary_garbage_is_refused(write):
    path = write("garbage.bin", random.Random(0).randbytes(100_000))
    refused(path, "binary file", 1 + random.Random(0).randbytes(100_000).split(b"\0")[0].count(b"\n"))


def test_utf8_ids_across_chunk_boundaries(write):
    text = "".join(f"é{i % 500}ü ñ{i % 7} {i}\n" for i in range(30_000))  # multibyte characters split by chunks
    edges = read_edge_list(write("utf8.txt", text))
    assert edges.num_events == 30_000 and edges.num_nodes == 507


def test_text_that_is_not_utf8_names_its_line(write):
    path = write("latin1.txt", GOOD.encode() + "été 1 2\n".encode("latin-1"))
    refused(path, "not UTF-8 text", GOOD_LINES + 1)


def test_sparse_10gb_file_fails_fast_in_load_dataset(tmp_path, root):
    path = sparse_file(tmp_path / "holes.txt")
    start = time.perf_counter()
    with pytest.raises(EdgeListFormatError, match="line 3: NUL byte .*sparse file's hole"):
        load_dataset(path, root=root)  # before hashing the 10 GB
    refused(path, "NUL byte", 3)
    assert time.perf_counter() - start < 10  # reading the holes takes minutes


# --- long lines -----------------------------------------------------------------------------

def test_a_1mb_line_is_refused_without_reading_it_whole(write):
    path = write("long.txt", "1 2 3\n2 3 " + "9" * 1_000_000 + "\n")
    refused(path, "line longer than 65,536 bytes", 2)


def test_a_newline_free_file_is_refused_at_its_first_line(write):
    refused(write("one-line.gz", "1 " * 200_000, "gz"), "line longer than", 1)


def test_long_fields_are_cut_in_the_message(write):
    path = write("field.txt", "1 2 3\n2 3 " + "x" * 30_000 + "\n")
    message = refused(path, "time 'x{40}... \\(30,000 characters\\)' is not a finite number", 2)
    assert message.count("x") < 200


# --- decompression bombs and empty archives -------------------------------------------------

@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress], ids=["gzip", "bzip2"])
def test_bombs_are_refused_at_the_cap(tmp_path, monkeypatch, compress):
    monkeypatch.setenv(CAP_ENV, "8M")
    path = gzip_bomb(tmp_path / "bomb", 10 << 30, compress=compress)
    start = time.perf_counter()
    refused(path, f"decompresses to more than 8,388,608 bytes.*{CAP_ENV}")
    assert time.perf_counter() - start < 10


def test_gzip_bomb_of_zeros_fails_on_its_first_chunk(tmp_path):
    refused(gzip_bomb(tmp_path / "zeros.gz", 10 << 30, line=b"\0"), "NUL byte at byte offset 0", 1)


def test_zip_member_larger_than_the_cap_is_refused_before_unpacking(tmp_path, monkeypatch):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("g.edges", "1 2 3\n" * 400_000)
    monkeypatch.setenv(CAP_ENV, "1M")
    refused(path, "zip member 'g.edges' declares 2,400,000 bytes unpacked, over the 1,048,576-byte cap")


def test_the_cap_can_be_raised_and_must_be_a_size(tmp_path, monkeypatch):
    path = gzip_bomb(tmp_path / "big.gz", 3 << 20)
    monkeypatch.setenv(CAP_ENV, "2MiB")
    refused(path, "decompresses to more than 2,097,152 bytes")
    monkeypatch.setenv(CAP_ENV, "4194304")
    assert read_edge_list(path).num_events == 3 * ((1 << 20) // 6)
    monkeypatch.setenv(CAP_ENV, "lots")
    with pytest.raises(DataError, match=f"^\\${CAP_ENV}='lots' is not a positive size"):
        read_edge_list(path)


@pytest.mark.parametrize("compress", [None, "gz", "bz2", "zip"])
def test_empty_files_and_archives(write, compress):
    refused(write("empty.txt", b"", compress), "file is empty")


def test_truncated_gzip_is_refused(write):
    packed = gzip.compress(GOOD.encode())
    refused(write("cut.gz", packed[: len(packed) // 2]), "truncated or corrupt file")


# --- separators, line endings, timestamps ---------------------------------------------------

def test_mixed_separators_are_refused_naming_both(write):
    message = refused(write("mixed.txt", "1,2,3\n2,3,4\n3\t4\t5\n4 5 6\n"), "too few columns", 3)
    assert "separated by tabs, but the file's separator, from its first data line (1), is commas" in message
    refused(write("mixed2.txt", "1\t2\t3\n2 3 4\n"), "separated by whitespace.* is tabs", 2)


def test_tabs_and_spaces_mix_in_a_whitespace_separated_file(write):
    assert read_edge_list(write("ws.txt", "1 2 3\n2\t3 4\n3  \t 4\t5\n")).time.tolist() == [3.0, 4.0, 5.0]


@pytest.mark.parametrize("sep", [" ", ",", "\t"])
def test_crlf_line_endings_are_accepted(write, sep):
    edges = read_edge_list(write("crlf.txt", GOOD.replace(" ", sep).replace("\n", "\r\n")))
    assert edges.num_events == GOOD_LINES and edges.time[-1] == GOOD_LINES - 1


def test_lone_carriage_returns_are_refused_with_their_line(write):
    # pandas would end a line there and Python would not, so every later line number would be off
    refused(write("mac.txt", GOOD + "1 2 3\r2 3 4\n"), "carriage return not followed by a line feed", GOOD_LINES + 1)
    refused(write("cr-at-end.txt", "1 2 3\n2 3 4\r"), "carriage return", 2)


def test_negative_timestamps_are_allowed(write):
    edges = read_edge_list(write("neg.txt", "1 2 -5\n2 3 -1e9\n3 1 -0.5\n"))
    assert edges.time.tolist() == [-5.0, -1e9, -0.5]


@pytest.mark.parametrize("value, match", [
    ("nan", "time is empty, NA or NaN"),
    ("NaN", "time is empty, NA or NaN"),
    ("inf", "time 'inf' is not a finite number"),
    ("-inf", "time '-inf' is not a finite number"),
    ("1e999", "time '1e999' is not a finite number"),
])
def test_nan_and_infinite_timestamps_are_refused(write, value, match):
    refused(write("t.txt", f"1 2 3\n2 3 {value}\n3 4 5\n"), match, 2)


# --- node ids -------------------------------------------------------------------------------

@pytest.mark.parametrize("ids", [
    [2**63, 2**63 + 1, 3, 4],  # uint64 src, int64 dst: float64 would merge 2**63 and 2**63 + 1
    [2**64 - 1, 2**64 - 2, -1, 5],  # beyond int64 and negative: no integer type holds both columns
    [10**29, 10**29 + 1, 7, 8],  # beyond uint64
], ids=["uint64-and-int64", "uint64-and-negative", "beyond-uint64"])
def test_ids_beyond_int64_stay_distinct(write, ids):
    a, b, c, d = ids
    edges = read_edge_list(write("big.txt", f"{a} {c} 1\n{b} {d} 2\n{a} {d} 3\n"))
    assert edges.num_nodes == 4
    assert edges.src[0] != edges.src[1] and edges.src[2] == edges.src[0] and edges.dst[2] == edges.dst[1]


def test_non_integer_ids_are_compared_as_text(write):
    edges = read_edge_list(write("f.txt", "1.0 2 1\n1 2 2\n1.5 x 3\n"))
    assert edges.num_nodes == 5 and edges.src[0] != edges.src[1]


# --- the command line: exit 2, one line, bounded memory and time ----------------------------

def _cli_error(argv_path, tmp_path, capsys):
    from gnn_sparse.cli import main

    code = main(["--dataset", str(argv_path), "--results-dir", str(tmp_path / "results"),
                 "--data-root", str(tmp_path / "root"), "--epochs", "1", "--quiet"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith(f"gnn-sparse train: error: {argv_path}")
    return lines[0]


@pytest.mark.parametrize("name, data, where", [
    ("garbage.bin", b"1 2 3\n" + random.Random(1).randbytes(5000), ", line 2: NUL byte"),
    ("long line.txt", b"1 2 3\n" + b"7" * (1 << 20) + b"\n", ", line 2: line longer"),
    ("mixed.txt", b"1,2,3\n2 3 4\n", ", line 2: too few columns"),
    ("nan.txt", b"1 2 3\n2 3 nan\n", ", line 2: time is empty, NA or NaN"),
    ("empty.gz", gzip.compress(b""), ": file is empty"),
], ids=["garbage", "1mb-line", "mixed-separators", "nan-time", "empty-gzip"])
def test_cli_exits_2_with_one_line_naming_file_and_line(tmp_path, capsys, name, data, where):
    path = tmp_path / name
    path.write_bytes(data)
    assert where in _cli_error(path, tmp_path, capsys)


def test_cli_on_10gb_sparse_file_and_bombs_in_bounded_memory_and_time(tmp_path):
    """One subprocess (the imports cost seconds on a loaded machine) runs the CLI on each file
    with the default cap and reports exit code, error line, seconds and the peak RSS."""
    files = [sparse_file(tmp_path / "holes.txt"), gzip_bomb(tmp_path / "zeros.gz", 10 << 30, line=b"\0"),
             gzip_bomb(tmp_path / "bomb.gz", 10 << 30)]
    script = f"""
import contextlib, io, json, resource, sys, time
from gnn_sparse.cli import main
out = []
for f in sys.argv[1:]:
    err, start = io.StringIO(), time.perf_counter()
    with contextlib.redirect_stderr(err):
        code = main(["--dataset", f, "--results-dir", {str(tmp_path / "res")!r}, "--data-root",
                     {str(tmp_path / "root")!r}, "--quiet"])
    out.append([code, err.getvalue(), time.perf_counter() - start])
print(json.dumps([out, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024]))
"""
    env = {k: v for k, v in os.environ.items() if k != CAP_ENV}
    done = subprocess.run([sys.executable, "-c", script, *map(str, files)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    runs, peak = json.loads(done.stdout.strip().splitlines()[-1])
    for path, (code, err, seconds), match in zip(files, runs, [", line 3: NUL byte", ", line 1: NUL byte",
                                                              ": decompresses to more than 1,073,741,824 bytes"]):
        assert code == 2 and err.count("\n") == 1 and f"error: {path}{match}" in err, err
        assert seconds < 60, (path, seconds)  # ~6 s for the 1 GiB scan of the bomb on a loaded 2-core machine
    assert peak < 1 << 30, f"peak RSS {peak / 2**20:.0f} MiB"
