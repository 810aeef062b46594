"""LFW-format pairs files.

Two line forms after an optional header: ``Name i j`` (a matched pair, two images of one person)
and ``NameA i NameB j`` (a mismatched pair). Image ``i`` of ``Name`` is ``DIR/Name/Name_000i.jpg``
(the index zero-padded to 4 digits). The header is either ``N`` (View 1: N matched then N
mismatched pairs) or ``S N`` (View 2: S sets, each N matched then N mismatched pairs).

Folds for 10-fold cross-validation: a View 2 file's own sets; otherwise the matched and the
mismatched pairs are each cut into 10 contiguous blocks in file order (names are sorted in LFW
files, so the blocks hold mostly different people, as LFW's own folds do).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from kiosk.errors import InputError

log = logging.getLogger(__name__)

DEFAULT_FOLDS = 10
MAX_PAIRS_FILE_BYTES = 50_000_000


@dataclass(frozen=True, order=True)
class ImageRef:
    """One LFW image: person ``name``, 1-based image ``index``."""

    name: str
    index: int

    @property
    def relpath(self) -> str:
        return f"{self.name}/{self.name}_{self.index:04d}.jpg"

    def path(self, images_dir: Path) -> Path:
        return Path(images_dir) / self.name / f"{self.name}_{self.index:04d}.jpg"


@dataclass(frozen=True)
class Pair:
    a: ImageRef
    b: ImageRef
    same: bool
    fold: int
    line: int


@dataclass(frozen=True)
class PairsFile:
    source: str
    pairs: tuple[Pair, ...]
    n_folds: int

    @property
    def n_matched(self) -> int:
        return sum(1 for p in self.pairs if p.same)

    @property
    def n_mismatched(self) -> int:
        return sum(1 for p in self.pairs if not p.same)

    def images(self) -> list[ImageRef]:
        """Every image the pairs use, each once, in first-use order."""
        seen: dict[ImageRef, None] = {}
        for p in self.pairs:
            seen.setdefault(p.a, None)
            seen.setdefault(p.b, None)
        return list(seen)

    def head(self, n: int) -> PairsFile:
        """The first ``n`` matched and the first ``n`` mismatched pairs (a quick, balanced subset)."""
        same = [p for p in self.pairs if p.same][:n]
        diff = [p for p in self.pairs if not p.same][:n]
        return _with_folds(self.source, same + diff, None, min(self.n_folds, max(2, n)))


def _index(tok: str, source: str, lineno: int) -> int:
    try:
        v = int(tok)
    except ValueError:
        raise InputError(
            f"{source}:{lineno}: image index {tok!r} is not a number", code="pairs_invalid"
        ) from None
    if v < 1 or v > 9999:
        raise InputError(f"{source}:{lineno}: image index {v} out of range 1..9999", code="pairs_invalid")
    return v


def _with_folds(source: str, pairs: list[Pair], sets: tuple[int, int] | None, n_folds: int) -> PairsFile:
    out: list[Pair] = []
    if sets is not None and len(pairs) == 2 * sets[0] * sets[1]:
        n_folds = sets[0]
        for i, p in enumerate(pairs):
            out.append(Pair(p.a, p.b, p.same, i // (2 * sets[1]), p.line))
    else:
        for flag in (True, False):
            group = [p for p in pairs if p.same is flag]
            for i, p in enumerate(group):
                out.append(Pair(p.a, p.b, p.same, i * n_folds // max(1, len(group)), p.line))
        out.sort(key=lambda p: p.line)
    return PairsFile(source=source, pairs=tuple(out), n_folds=n_folds)


def parse_pairs(text: str, source: str = "<pairs>", n_folds: int = DEFAULT_FOLDS) -> PairsFile:
    """Parse the text of a pairs file. Raises :class:`InputError` (code ``pairs_invalid``) naming the line."""
    pairs: list[Pair] = []
    sets: tuple[int, int] | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        toks = raw.split()
        if not toks or toks[0].startswith("#"):
            continue
        if not pairs and sets is None and all(t.isdigit() for t in toks) and len(toks) <= 2:
            sets = (int(toks[0]), int(toks[1])) if len(toks) == 2 else None
            continue
        if len(toks) == 3:
            a = ImageRef(toks[0], _index(toks[1], source, lineno))
            b = ImageRef(toks[0], _index(toks[2], source, lineno))
            pairs.append(Pair(a, b, True, 0, lineno))
        elif len(toks) == 4:
            a = ImageRef(toks[0], _index(toks[1], source, lineno))
            b = ImageRef(toks[2], _index(toks[3], source, lineno))
            pairs.append(Pair(a, b, a.name == b.name, 0, lineno))
        else:
            raise InputError(
                f"{source}:{lineno}: expected 'Name i j' or 'NameA i NameB j', got {len(toks)} fields",
                code="pairs_invalid",
            )
    if not pairs:
        raise InputError(f"{source}: no pairs found", code="pairs_invalid")
    return _with_folds(source, pairs, sets, n_folds)


def load_pairs(path: str | Path, n_folds: int = DEFAULT_FOLDS) -> PairsFile:
    """Read and parse a pairs file; unreadable or malformed files raise :class:`InputError`."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_PAIRS_FILE_BYTES:
            raise InputError(
                f"{p}: pairs file larger than {MAX_PAIRS_FILE_BYTES} bytes", code="pairs_invalid"
            )
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read pairs file {p}: {exc.strerror}", code="pairs_unreadable") from None
    except UnicodeDecodeError:
        raise InputError(f"{p}: pairs file is not UTF-8 text", code="pairs_invalid") from None
    return parse_pairs(text, str(p), n_folds)
