"""LFW pairs-file parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.errors import InputError
from kiosk.eval.pairs import ImageRef, load_pairs, parse_pairs

VIEW1 = """2
Aaron_Peirsol\t1\t2
Zinedine_Zidane\t2\t14
AJ_Cook\t1\tMarsha_Thomason\t1
Aaron_Sorkin\t2\tFrank_Solich\t5
"""


def test_view1_format() -> None:
    pf = parse_pairs(VIEW1, n_folds=2)
    assert (pf.n_matched, pf.n_mismatched, pf.n_folds) == (2, 2, 2)
    p0, p1, p2, p3 = pf.pairs
    assert p0.same and p0.a == ImageRef("Aaron_Peirsol", 1) and p0.b == ImageRef("Aaron_Peirsol", 2)
    assert p2.a == ImageRef("AJ_Cook", 1) and p2.b == ImageRef("Marsha_Thomason", 1) and not p2.same
    # contiguous blocks per class: first matched pair fold 0, second fold 1, same for mismatched
    assert [p.fold for p in pf.pairs] == [0, 1, 0, 1]
    assert p0.line == 2 and p3.line == 5


def test_image_paths_are_zero_padded_to_4_digits(tmp_path: Path) -> None:
    r = ImageRef("Zinedine_Zidane", 14)
    assert r.relpath == "Zinedine_Zidane/Zinedine_Zidane_0014.jpg"
    assert r.path(tmp_path) == tmp_path / "Zinedine_Zidane" / "Zinedine_Zidane_0014.jpg"


def test_view2_sets_are_the_folds() -> None:
    lines = ["2 1", "A 1 2", "B 1 C 1", "D 1 2", "E 1 F 2"]
    pf = parse_pairs("\n".join(lines))
    assert pf.n_folds == 2
    assert [p.fold for p in pf.pairs] == [0, 0, 1, 1]
    assert [p.same for p in pf.pairs] == [True, False, True, False]


def test_unique_images_in_first_use_order() -> None:
    pf = parse_pairs("A 1 2\nA 2 B 1\nB 1 C 3\n")
    assert [r.relpath.split("/")[1] for r in pf.images()] == [
        "A_0001.jpg",
        "A_0002.jpg",
        "B_0001.jpg",
        "C_0003.jpg",
    ]


def test_head_takes_balanced_subset() -> None:
    pf = parse_pairs(VIEW1, n_folds=2).head(1)
    assert (pf.n_matched, pf.n_mismatched) == (1, 1)


@pytest.mark.parametrize(
    "text, what",
    [
        ("A 1\n", "line 1"),
        ("A 1 x\n", "not a number"),
        ("A 1 2 B 3\n", "5 fields"),
        ("A 0 2\n", "out of range"),
        ("", "no pairs"),
    ],
)
def test_malformed_lines_name_the_line(text: str, what: str) -> None:
    with pytest.raises(InputError) as ei:
        parse_pairs(text, "p.txt")
    assert ei.value.code == "pairs_invalid"
    assert what in ei.value.message or "p.txt" in ei.value.message


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as ei:
        load_pairs(tmp_path / "missing.txt")
    assert ei.value.code == "pairs_unreadable"
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(InputError):
        load_pairs(tmp_path / "bin.txt")


def test_real_devtrain_file(data_dir: Path) -> None:
    pf = load_pairs(data_dir / "lfw_devtrain" / "pairsDevTrain.txt")
    assert (pf.n_matched, pf.n_mismatched, pf.n_folds) == (1100, 1100, 10)
    refs = pf.images()
    assert len(refs) == 3443
    assert all(r.path(data_dir / "lfw_devtrain" / "images").is_file() for r in refs[:50])
