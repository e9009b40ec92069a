import numpy as np
import pytest

from gnn_sparse.data import DataFileNotFoundError, EdgeListFormatError, read_edge_list
from gnn_sparse.data.parse import parse_columns, remap_ids

EDGES = "10 20 5\n20 30 3\n10 30 9\n"


def triples(edges):
    return list(zip(edges.src.tolist(), edges.dst.tolist(), edges.time.tolist()))


@pytest.mark.parametrize("compress", [None, "gz", "bz2", "zip"])
@pytest.mark.parametrize("sep", [" ", ",", "\t", "  \t "])
def test_separators_and_compression(write, compress, sep):
    path = write("g.txt", EDGES.replace(" ", sep), compress)
    edges = read_edge_list(path)
    assert edges.num_nodes == 3 and edges.num_events == 3
    # ids 10, 20, 30 -> 0, 1, 2 in sorted order; file order kept
    assert triples(edges) == [(0, 1, 5.0), (1, 2, 3.0), (0, 2, 9.0)]
    assert edges.src.dtype == np.int64 and edges.time.dtype == np.float64


def test_comments_and_blank_lines(write):
    text = "# SNAP header\n% konect header\n\n10 20 5\n\n# mid comment\n20 30 3\n"
    assert triples(read_edge_list(write("c.txt", text))) == [(0, 1, 5.0), (1, 2, 3.0)]


def test_two_columns_use_file_order_as_time(write):
    edges = read_edge_list(write("two.txt", "b a\na c\nc b\n"))
    assert triples(edges) == [(1, 0, 0.0), (0, 2, 1.0), (2, 1, 2.0)]


def test_string_ids_and_float_times(write):
    edges = read_edge_list(write("s.csv", "alice,bob,1.5\nbob,carol,0.25\n"))
    assert edges.num_nodes == 3
    assert triples(edges) == [(0, 1, 1.5), (1, 2, 0.25)]


def test_mixed_numeric_and_string_ids_share_one_id_space(write):
    edges = read_edge_list(write("m.txt", "1 x 0\n2 1 1\n"))
    assert edges.num_nodes == 3
    assert edges.dst[1] == edges.src[0]


def test_default_time_is_last_column_and_override(write):
    path = write("w.edges", "% header\n1 2 7 100\n2 3 1 50\n")  # src dst weight time
    assert read_edge_list(path).time.tolist() == [100.0, 50.0]
    assert read_edge_list(path, columns="src,dst,time,weight").time.tolist() == [7.0, 1.0]
    assert read_edge_list(path, columns=["dst", "src"]).src.tolist() == [1, 2]


def test_extra_fields_are_ignored(write):
    assert read_edge_list(write("x.txt", "1 2 3\n4 5 6 7 8\n")).num_events == 2


def test_matrix_market(write):
    text = "%%MatrixMarket matrix coordinate real general\n% comment\n3 3 2\n1 2 0.5\n3 1 0.25\n"
    edges = read_edge_list(write("g.mtx", text), columns="src,dst,weight")
    assert triples(edges) == [(0, 1, 0.0), (2, 0, 1.0)]


def test_matrix_market_entry_count_is_checked(write):
    text = "%%MatrixMarket matrix coordinate pattern general\n3 3 5\n1 2\n3 1\n"
    with pytest.raises(EdgeListFormatError, match="declares 5 entries but the file has 2"):
        read_edge_list(write("g.mtx", text))


def test_matrix_market_array_is_rejected(write):
    with pytest.raises(EdgeListFormatError, match=r"g\.mtx, line 1: only MatrixMarket 'coordinate'"):
        read_edge_list(write("g.mtx", "%%MatrixMarket matrix array real general\n2 2\n1\n2\n3\n4\n"))


def test_remap_ids_table_and_hash_paths_agree():
    ids = np.array([5, 3, 5, 9, 0])
    for variant in (ids, ids * 10**12, ids - 100):  # presence table, factorize (huge), factorize (negative)
        codes, n = remap_ids(variant)
        assert (codes.tolist(), n) == ([2, 1, 2, 3, 0], 4)
    codes, n = remap_ids(np.array(["b", "a", "b"], dtype=object))
    assert (codes.tolist(), n) == ([1, 0, 1], 2)


# ---- bad input: every error names the file, and the line where there is one ----

def test_missing_file(tmp_path):
    with pytest.raises(DataFileNotFoundError, match="nope.txt: no such file"):
        read_edge_list(tmp_path / "nope.txt")


def test_empty_file(write):
    with pytest.raises(EdgeListFormatError, match=r"empty\.txt: file is empty"):
        read_edge_list(write("empty.txt", "\n  \n"))


def test_only_comments(write):
    with pytest.raises(EdgeListFormatError, match=r"comments\.txt: file has only comments"):
        read_edge_list(write("comments.txt", "# a\n% b\n"))


def test_single_column(write):
    with pytest.raises(EdgeListFormatError, match=r"one\.txt, line 2: an edge needs at least 2 columns"):
        read_edge_list(write("one.txt", "# h\n5\n6\n"))


@pytest.mark.parametrize("compress", [None, "gz"])
def test_too_few_columns_names_the_line(write, compress):
    text = "# header\n1 2 10\n\n3 4 11\n# note\n5 6\n7 8 12\n"
    with pytest.raises(EdgeListFormatError, match=r"short\.txt, line 6: too few columns: 2 found, 3 needed"):
        read_edge_list(write("short.txt", text, compress))


def test_missing_destination_names_the_line(write):
    with pytest.raises(EdgeListFormatError, match=r"line 3: too few columns: 1 found, 2 needed for src, dst"):
        read_edge_list(write("d.txt", "1 2\n2 3\n4\n"))


def test_non_numeric_time(write):
    with pytest.raises(EdgeListFormatError, match=r"t\.csv, line 3: time 'soon' is not a finite number"):
        read_edge_list(write("t.csv", "1,2,10\n2,3,11\n3,4,soon\n"))


@pytest.mark.parametrize("value", ["NaN", "nan", "inf"])
def test_nan_or_infinite_time(write, value):
    with pytest.raises(EdgeListFormatError, match=r"nan\.txt, line 2: time"):
        read_edge_list(write("nan.txt", f"1 2 10\n2 3 {value}\n"))


def test_truncated_gzip(write, tmp_path):
    full = write("full.txt", "".join(f"{i} {i + 1} {i}\n" for i in range(20000)), "gz")
    cut = tmp_path / "cut.txt.gz"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(EdgeListFormatError, match=r"cut\.txt\.gz: cannot read: truncated or corrupt"):
        read_edge_list(cut)


def test_zip_without_edge_file(tmp_path):
    import zipfile

    path = tmp_path / "docs.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.html", "<p>hi</p>")
    with pytest.raises(EdgeListFormatError, match=r"docs\.zip: zip archive holds no edge file \(members: readme\.html\)"):
        read_edge_list(path)


def test_zip_with_several_edge_files(tmp_path):
    import zipfile

    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("a.edges", "1 2 3\n")
        z.writestr("b.edges", "1 2 3\n")
        z.writestr("README.txt", "about")
    with pytest.raises(EdgeListFormatError, match=r"two\.zip: zip archive holds 2 edge files"):
        read_edge_list(path)


def test_zip_ignores_docs_next_to_the_edge_file(tmp_path):
    import zipfile

    path = tmp_path / "ok.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.html", "<p>hi</p>")
        z.writestr("g/ia.edges", "% h\n1 2 1 5\n")
    assert read_edge_list(path).time.tolist() == [5.0]


@pytest.mark.parametrize("columns, message", [
    ("src,time", "role 'dst' must appear exactly once"),
    ("src,dst,time,time", "role 'time' must appear exactly once or not at all"),
    ("src,dst,when", r"unknown role\(s\) \['when'\]"),
    ("src,dst,time,weight", "names 4 columns but the file has 3"),
])
def test_bad_columns(write, columns, message):
    with pytest.raises(EdgeListFormatError, match=rf"g\.txt, line 1: columns=.*{message}"):
        read_edge_list(write("g.txt", EDGES), columns=columns)


def test_parse_columns_defaults():
    assert parse_columns(None, 2) == {"src": 0, "dst": 1}
    assert parse_columns(None, 4) == {"src": 0, "dst": 1, "time": 3}
    assert parse_columns("_,src,dst", 3) == {"src": 1, "dst": 2}
