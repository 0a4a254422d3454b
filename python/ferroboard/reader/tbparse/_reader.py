"""``SummaryReader``: a drop-in for ``tbparse.SummaryReader`` (0.0.9) built on :func:`read`:
tbparse's DataFrames (same columns, dtypes, row order, values), its tree of child readers, its
raw tags and events, and its static helpers (from :mod:`._helpers`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, Optional

import numpy as np

from ... import _storage
from ..._native import decode_images, decode_wavs, wav_infos
from .._contract import is_audio, is_histogram, is_image
from ..api import (
    AUDIO,
    HISTOGRAMS,
    HPARAMS,
    IMAGES,
    KINDS,
    PR_CURVES,
    TENSORS,
    TEXT,
    PathLike,
    ReadResult,
    _names,
    _objarr,
    _tensor_array,
    read,
)
from ..frames import _pandas
from . import _helpers as _tbparse
from ._helpers import ScalarEvent, TensorEvent

__all__ = ["SummaryReader"]

ALL_EVENT_TYPES = {"scalars", "tensors", "histograms", "images", "audio", "hparams", "text"}
ALL_EXTRA_COLUMNS = {
    "dir_name",
    "file_name",
    "wall_time",
    "min",
    "max",
    "num",
    "sum",
    "sum_squares",
    "width",
    "height",
    "content_type",
    "length_frames",
    "sample_rate",
}
TEXT_SUFFIX = "/text_summary"
# tbparse's kinds in the order its ``tags`` lists them, and the kinds of its raw events.
TBPARSE_KINDS = ("images", "audio", "histograms", "scalars", "tensors", "hparams", "text")
RAW_KINDS = TBPARSE_KINDS


def _sorted_order(step: np.ndarray, keys: list[np.ndarray]) -> np.ndarray:
    """The permutation of pandas' stable multi-column sort by ``(*keys, step)``."""
    pd = _pandas()

    lex = [step]
    for col in reversed(keys):
        if col.dtype.kind in "iu":
            lex.append(col)  # already sort ranks
        else:
            codes, _ = pd.factorize(col, sort=True)
            lex.append(codes)
    if len(lex) == 2 and len(step) and lex[1].max(initial=0) < 1 << 20:
        # One tag key: a single int64 key sorts faster than a two-key lexsort.
        lo = step - step.min()
        if lo.max(initial=0) < 1 << 42:
            return np.argsort((lex[1].astype(np.int64) << 42) | lo, kind="stable")
    return np.lexsort(lex)


class SummaryReader:
    """A drop-in for ``tbparse.SummaryReader`` (0.0.9), parsing in Rust.

    ``SummaryReader(log_path, pivot=False, extra_columns=None, event_types=None)``; the
    properties ``scalars``, ``tensors``, ``histograms``, ``images``, ``audio``, ``text`` and
    ``hparams`` return tbparse's DataFrames (same columns, dtypes, row order, values).
    ``images`` and ``audio`` hold numpy arrays equal to those tbparse gets from TensorFlow's
    ``decode_image`` (uint8 ``(H, W, C)``, ``(T, H, W, 3)`` for a GIF) and ``decode_wav``
    (float32 ``(frames, channels)``), decoded in Rust in one parallel batch per frame;
    ``decode=False`` keeps the encoded bytes instead (faster when pixels are not needed).
    ``children``, ``reader[name]``, ``get_tags``, the static helpers (``tensor_to_histogram``,
    ``tensor_to_image``, ``tensor_to_audio``, ``histogram_to_cdf``, ``histogram_to_pdf``,
    ``histogram_to_bins``, ``buckets_to_histogram_dict``) and ``raw_tags``/``raw_events`` (of
    an event file) are there too. Differences: no TensorFlow is needed for any kind (tbparse
    needs it for images and audio); WAV other than 16-bit PCM decodes (TensorFlow refuses it);
    the tag-to-plugin association is remembered per run (as TensorBoard does) rather than per
    file; raw events hold numpy arrays where tbparse's hold protobuf messages.

    ``unify=True`` sorts tensor-encoded values into their kinds instead (scalar tensors into
    ``scalars``, ``[k, 3]`` histogram tensors into ``histograms``, TensorFlow's image and audio
    tensors into ``images`` and ``audio``, PR curves only into ``pr_curves``).
    """

    def __init__(
        self,
        log_path: PathLike,
        *,
        pivot: bool = False,
        extra_columns: Optional[set[str]] = None,
        event_types: Optional[set[str]] = None,
        unify: bool = False,
        decode: bool = True,
        check_crc: bool = True,
        strict: bool = False,
        purge_restarts: bool = False,
    ):
        _pandas()  # fail early, saying what to install
        self._log_path = os.fspath(log_path)
        self._extra_columns = set(extra_columns or set())
        if not isinstance(extra_columns or set(), set):
            raise ValueError(f"`columns` should be a {set} instead of {type(extra_columns)}")
        diff = self._extra_columns - ALL_EXTRA_COLUMNS
        if diff:
            raise KeyError(f"Invalid columns entries: {diff}")
        if event_types is not None and not isinstance(event_types, set):
            raise ValueError(f"`event_types` should be a {set} instead of {type(event_types)}")
        self._event_types = set(event_types or ALL_EVENT_TYPES)
        diff = self._event_types - ALL_EVENT_TYPES
        if diff:
            raise KeyError(f"Invalid event types: {diff}")
        self._pivot = pivot
        self._unify = unify
        self._decode = decode
        self._options: dict[str, Any] = dict(
            pivot=pivot,
            extra_columns=set(self._extra_columns),
            event_types=set(self._event_types),
            unify=unify,
            decode=decode,
            check_crc=check_crc,
            strict=strict,
            purge_restarts=purge_restarts,
        )
        self._children: Optional[_tbparse.Children] = None
        kind = _storage.path_kind(self._log_path)
        if kind == "missing":
            raise ValueError(f"File or directory not found: {self._log_path}")
        self._is_file = kind == "file"
        kinds = set(self._event_types) | {"pr_curves"}
        if not unify and "tensors" in kinds:
            kinds |= {"scalars", "histograms", "images", "audio", "pr_curves"}
        if "hparams" in kinds:
            kinds.add("scalars")
        self._result = read(
            self._log_path,
            kinds=sorted(kinds),
            check_crc=check_crc,
            strict=strict,
            purge_restarts=purge_restarts,
        )
        self._cache: dict[str, Any] = {}

    # ------------------------------------------------------------------ properties

    @property
    def log_path(self) -> str:
        """The logdir or event file read."""
        return self._log_path

    @property
    def result(self) -> ReadResult:
        """The underlying :class:`ReadResult` (file reports, corrupt counts, graphs)."""
        return self._result

    @property
    def scalars(self) -> Any:
        """Scalars, as tbparse returns them."""
        return self.get_events("scalars")

    @property
    def tensors(self) -> Any:
        """Tensors, as tbparse returns them."""
        return self.get_events("tensors")

    @property
    def histograms(self) -> Any:
        """Histograms, as tbparse returns them."""
        return self.get_events("histograms")

    @property
    def images(self) -> Any:
        """Images: ``value`` holds the decoded pixels, uint8 ``(H, W, C)`` or ``(T, H, W, 3)``
        for a GIF, as tbparse (the encoded bytes with ``decode=False``)."""
        return self.get_events("images")

    @property
    def audio(self) -> Any:
        """Audio: ``value`` holds the decoded samples, float32 ``(frames, channels)``, as
        tbparse (the encoded WAV bytes with ``decode=False``)."""
        return self.get_events("audio")

    @property
    def text(self) -> Any:
        """Text, as tbparse returns it (the ``/text_summary`` tag suffix removed)."""
        return self.get_events("text")

    @property
    def hparams(self) -> Any:
        """Hyperparameters as tbparse returns them: ``tag`` (name) and ``value``."""
        return self.get_events("hparams")

    @property
    def pr_curves(self) -> Any:
        """PR curves: step, tag, thresholds, precision, recall, true/false positives/negatives."""
        return self.get_events("pr_curves")

    @property
    def tags(self) -> dict[str, list[str]]:
        """Kind -> tags read, as tbparse's ``tags``: in first-seen order, text tags as written
        (with torch's ``/text_summary`` suffix, which the ``text`` frame removes), tensor tags
        without text and hparams ones, hparams names (sorted here; tbparse lists them in
        protobuf map order)."""
        out: dict[str, list[str]] = {}
        for k in TBPARSE_KINDS:
            if k not in self._event_types:
                out[k] = []
                continue
            if k in ("images", "audio") and k not in self._cache:
                # Their tags, without decoding (or even building) the frame.
                code = IMAGES if k == "images" else AUDIO
                rows = self._item_rows({code}, None if self._unify else False)
                it = self._result.items
                order = np.argsort(it["file"][rows], kind="stable")
                out[k] = list(dict.fromkeys(_names(self._result.tags, it["tag"][rows][order])))
                continue
            cols = self._long(k)
            if k == "text" and "_rawtag" in cols:
                out[k] = list(dict.fromkeys(_names(self._result.tags, cols["_rawtag"])))
            elif k == "tensors":
                out[k] = self._tensor_tags(cols)
            else:
                out[k] = list(dict.fromkeys(cols["tag"]))
        return out

    @staticmethod
    def _tensor_tags(cols: dict[str, Any]) -> list[str]:
        """Tensor tags in first-seen order, file by file. Scalar tensors and other tensors
        come from two lists whose interleaving is not kept: in a file holding both, wall
        time orders the two (as ``raw_tags``)."""
        tags = list(cols["tag"])
        scalar = cols.get("_scalar_tensor")
        if scalar is None or not tags:
            return list(dict.fromkeys(tags))
        is_scalar = np.array([isinstance(x, (bool, np.bool_)) and bool(x) for x in scalar])
        files = np.asarray(cols["_file"], dtype=np.int64)
        mixed = np.isin(files, np.intersect1d(files[is_scalar], files[~is_scalar]))
        if not mixed.any():
            return list(dict.fromkeys(tags))
        wall = np.where(mixed, np.asarray(cols["wall_time"], dtype=np.float64), 0.0)
        order = np.lexsort((np.arange(len(tags)), wall, files))
        return list(dict.fromkeys(tags[i] for i in order))

    def get_tags(self, event_type: Optional[str] = None) -> Any:
        """Tags of one kind (a list), or of every kind (a dict), as :attr:`tags`."""
        if event_type is not None and event_type not in ALL_EVENT_TYPES:
            raise ValueError(f"Unknown event_type: {event_type}")
        tags = self.tags
        return tags if event_type is None else tags[event_type]

    # ------------------------------------------------------------------ tbparse's tree

    @property
    def children(self) -> Mapping[str, SummaryReader]:
        """tbparse's ``children``: for a directory, each entry's name (sorted) -> a reader of
        that entry with this reader's options (built on first access); ``{}`` for a file."""
        if self._children is None:
            self._children = _tbparse.Children(self._log_path, self._child)
        return self._children

    def __getitem__(self, name: str) -> SummaryReader:
        """``reader[name]``: the child reader of entry ``name`` (KeyError if there is none)."""
        return self.children[name]

    def _child(self, path: str) -> SummaryReader:
        return SummaryReader(path, **self._options)

    # ------------------------------------------------------------------ raw tags and events

    def _check_file(self) -> None:
        if not self._is_file:
            raise ValueError(f"Not an event file: {self._log_path}")

    @property
    def raw_tags(self) -> dict[str, Any]:
        """tbparse's ``raw_tags`` (an event file only): TensorBoard's ``Tags()`` of the file
        (``images``, ``audio``, ``histograms``, ``scalars``, ``distributions``, ``tensors``,
        ``graph``, ``meta_graph``, ``run_metadata``) plus the plugin tags of ``hparams`` and
        ``text``, each kind's tags in the order of their first records in the file.
        Differences: where a file holds both scalar tensors and other tensors, ``tensors``
        interleaves the two by the wall time of their first records (TensorBoard: by position
        in the file; the same for files written in order);
        ``graph`` is also True for a graph summary (TensorFlow's ``trace_export``), where
        TensorBoard's is True only for a ``GraphDef``; ``meta_graph`` is always False (meta
        graphs are not told apart from graphs); hparams plugin tags are not listed under
        ``tensors``, also where TensorFlow wrote them with a (dummy) tensor."""
        tags: dict[str, Any] = self.get_raw_tags()
        return tags

    def get_raw_tags(self, event_type: Optional[str] = None) -> Any:
        """One kind of :attr:`raw_tags` (``None``: all)."""
        kinds = {*RAW_KINDS, "graph", "meta_graph", "run_metadata", "distributions"}
        if event_type is not None and event_type not in kinds:
            raise ValueError(f"Unknown event_type: {event_type}")
        self._check_file()
        ev = self._raw_events_all()
        r = self._result
        run = r.runs[0] if r.runs else None
        tags: dict[str, Any] = {
            "images": list(ev["images"]),
            "audio": list(ev["audio"]),
            "histograms": list(ev["histograms"]),
            "scalars": list(ev["scalars"]),
            "distributions": list(ev["histograms"]),
            "tensors": list(ev["tensors"]),
            "graph": bool(r.has_graph.get(run, False)) if run is not None else False,
            "meta_graph": False,
            "run_metadata": list(r.run_metadata.get(run, [])) if run is not None else [],
            "hparams": list(ev["hparams"]),
            "text": list(ev["text"]),
        }
        return tags if event_type is None else tags[event_type]

    @property
    def raw_events(self) -> dict[str, dict[str, list[Any]]]:
        """tbparse's ``raw_events`` (an event file only): kind -> tag -> events, for
        ``images``, ``audio``, ``histograms``, ``scalars``, ``tensors``, ``hparams`` and
        ``text``, as TensorBoard's event dataclasses (same names and fields: ``ScalarEvent``,
        ``HistogramEvent``, ``ImageEvent``, ``AudioEvent``, ``TensorEvent``), without
        protobuf: a ``TensorEvent`` holds ``tensor`` (the numpy array ``make_ndarray`` gives)
        instead of ``tensor_proto``, and ``hparams`` maps each hparams plugin tag to its
        records as ``TensorEvent``s (``tensor`` None for torch's empty values), where tbparse
        gives the serialized ``HParamsPluginData`` bytes (the parsed values are in
        :attr:`hparams`)."""
        events: dict[str, dict[str, list[Any]]] = self.get_raw_events()
        return events

    def get_raw_events(self, event_type: Optional[str] = None, tag: Optional[str] = None) -> Any:
        """One kind of :attr:`raw_events` (``None``: all), or one tag's events of that kind
        (KeyError if the file has no such tag)."""
        self._check_file()
        if event_type is None:
            if tag is not None:
                raise ValueError("tag shouldn't be set if event_type is None")
            return {k: dict(v) for k, v in self._raw_events_all().items()}
        if event_type not in RAW_KINDS:
            raise KeyError(event_type)
        events = self._raw_events_all()[event_type]
        return dict(events) if tag is None else events[tag]

    def _raw_events_all(self) -> dict[str, dict[str, list[Any]]]:
        if "_raw_events" in self._cache:
            cached: dict[str, dict[str, list[Any]]] = self._cache["_raw_events"]
            return cached
        r = self._result
        found: dict[str, list[tuple[float, int, str, Any]]] = {k: [] for k in RAW_KINDS}
        s = r.raw_scalars
        dtypes = {1: np.float32, 2: np.float64, 3: np.float16}
        for i in range(len(s["step"])):
            wt, step, tag = float(s["wall_time"][i]), int(s["step"][i]), r.tags[s["tag"][i]]
            enc = int(s["encoding"][i])
            if enc == 0:
                found["scalars"].append((wt, i, tag, ScalarEvent(wt, step, float(s["value"][i]))))
            else:
                t = np.array(s["value"][i], dtype=dtypes.get(enc, np.float64))
                found["tensors"].append((wt, i, tag, TensorEvent(wt, step, t)))
        it = r.items
        for i in range(len(it["step"])):
            wt, step, tag = float(it["wall_time"][i]), int(it["step"][i]), r.tags[it["tag"][i]]
            kind, d = KINDS[int(it["kind"][i])], it["data"][i]
            seq = len(s["step"]) + i
            if kind == "hparams" and not isinstance(d, tuple):
                # torch writes hparams summaries with an empty value (TensorBoard files none
                # of them under tensors).
                found["hparams"].append((wt, seq, tag, TensorEvent(wt, step, None)))
            elif isinstance(d, tuple):
                ev = TensorEvent(wt, step, _tensor_array(d))
                found["tensors"].append((wt, seq, tag, ev))
                if kind in ("text", "hparams"):
                    found[kind].append((wt, seq, tag, ev))
            elif kind == "histograms" and is_histogram(d):
                hv = _tbparse.HistogramValue(
                    float(d["min"]),
                    float(d["max"]),
                    float(d["num"]),
                    float(d["sum"]),
                    float(d["sum_squares"]),
                    [float(x) for x in d["limits"]],
                    [float(x) for x in d["counts"]],
                )
                found["histograms"].append((wt, seq, tag, _tbparse.HistogramEvent(wt, step, hv)))
            elif kind == "images" and is_image(d):
                iev = _tbparse.ImageEvent(wt, step, d["encoded"], d["width"], d["height"])
                found["images"].append((wt, seq, tag, iev))
            elif kind == "audio" and is_audio(d):
                aev = _tbparse.AudioEvent(
                    wt,
                    step,
                    d["encoded"],
                    d["content_type"],
                    float(d["sample_rate"]),
                    int(d["length_frames"]),
                )
                found["audio"].append((wt, seq, tag, aev))
        out: dict[str, dict[str, list[Any]]] = {}
        n_scalars = len(s["step"])
        for k, evs in found.items():
            # Tags in order of their first record in the file, as TensorBoard's Tags(); events
            # in file order. Scalar tensors and other tensors come from two lists whose
            # interleaving is not kept: between those two, wall time decides.
            seqs = [seq for _, seq, _, _ in evs]
            mixed = bool(seqs) and min(seqs) < n_scalars <= max(seqs)
            first: dict[str, tuple[float, int]] = {}
            for wt, seq, tag, _ in evs:
                key = (wt if mixed else 0.0, seq)
                first[tag] = min(first.get(tag, key), key)
            by_tag: dict[str, list[Any]] = {t: [] for t in sorted(first, key=first.__getitem__)}
            for _, _, tag, ev in sorted(evs, key=lambda e: e[1]):
                by_tag[tag].append(ev)
            out[k] = by_tag
        self._cache["_raw_events"] = out
        return out

    # ------------------------------------------------------------------ tbparse's helpers

    tensor_to_histogram = staticmethod(_tbparse.tensor_to_histogram)
    buckets_to_histogram_dict = staticmethod(_tbparse.buckets_to_histogram_dict)
    tensor_to_image = staticmethod(_tbparse.tensor_to_image)
    tensor_to_audio = staticmethod(_tbparse.tensor_to_audio)
    histogram_to_cdf = staticmethod(_tbparse.histogram_to_cdf)
    histogram_to_pdf = staticmethod(_tbparse.histogram_to_pdf)
    histogram_to_bins = staticmethod(_tbparse.histogram_to_bins)

    def hparams_table(self) -> Any:
        """One row per run with hyperparameters: ``dir_name``, each hparam, each metric (the
        run's last value of every metric tag that an hparams experiment names)."""
        pd = _pandas()

        hp = self._result.hparams()
        metrics = self._result.metric_tags()
        s = self._result.scalars
        rows = []
        for run, values in hp.items():
            row: dict[str, Any] = {"dir_name": "" if run == "." else run}
            row.update(values)
            for m in metrics:
                sel = (s["tag"] == m) & (
                    (s["run"] == run) | np.char.startswith(s["run"].astype(str), run + "/")
                )
                idx = np.flatnonzero(sel)
                row[m] = float(s["value"][idx[-1]]) if len(idx) else np.nan
            rows.append(row)
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        return f"SummaryReader(log_path='{self._log_path}')"

    # ------------------------------------------------------------------ frames

    def get_events(self, event_type: str) -> Any:
        """The DataFrame of one kind (``scalars``, ``tensors``, ..., ``pr_curves``)."""
        if event_type not in ALL_EVENT_TYPES | {"pr_curves"}:
            raise ValueError(f"Unknown event_type: {event_type}")
        if event_type != "pr_curves" and event_type not in self._event_types:
            raise ValueError(f"event_type is ignored by user: {event_type}")
        return self._finish(self._long(event_type))

    def _dir_name(self, run_codes: np.ndarray) -> np.ndarray:
        names = ["" if r == "." else r for r in self._result.runs]
        if self._is_file:
            names = ["" for _ in names]
        return _names(names, run_codes)

    def _file_name(self, file_codes: np.ndarray) -> np.ndarray:
        names = [os.path.basename(f["path"]) for f in self._result.files]
        return _names(names, file_codes)

    def _item_rows(self, codes: set[int], tensor_only: Optional[bool]) -> np.ndarray:
        it = self._result.items
        sel = np.isin(it["kind"], list(codes))
        if tensor_only is not None:
            is_tensor = np.fromiter(
                (isinstance(d, tuple) for d in it["data"]), dtype=bool, count=len(it["data"])
            )
            sel &= is_tensor if tensor_only else ~is_tensor
        return np.flatnonzero(sel)

    def _long(self, kind: str) -> dict[str, Any]:
        """Rows of one kind in tbparse's pre-sort order, as a dict of columns."""
        if kind in self._cache:
            cached: dict[str, Any] = self._cache[kind]
            return cached
        r = self._result
        cols: dict[str, Any]
        if kind == "hparams":
            cols = self._hparams_cols()
            self._cache[kind] = cols
            return cols
        s = r.raw_scalars
        parts: list[dict[str, Any]] = []
        if kind == "scalars":
            sel = np.flatnonzero(s["encoding"] == 0) if not self._unify else None
            parts.append(self._scalar_part(sel, as_tensor=False))
        elif kind == "tensors":
            if not self._unify:
                parts.append(self._scalar_part(np.flatnonzero(s["encoding"] != 0), True))
                rows = self._item_rows(
                    {TENSORS, HISTOGRAMS, IMAGES, AUDIO, PR_CURVES}, tensor_only=True
                )
            else:
                rows = self._item_rows({TENSORS}, None)
            parts.append(self._item_part(rows, self._tensor_value))
        elif kind == "histograms":
            rows = self._item_rows({HISTOGRAMS}, None if self._unify else False)
            parts.append(self._item_part(rows, None, histo=True))
        elif kind == "images":
            rows = self._item_rows({IMAGES}, None if self._unify else False)
            parts.append(self._media_part(rows, image=True))
        elif kind == "audio":
            rows = self._item_rows({AUDIO}, None if self._unify else False)
            parts.append(self._media_part(rows, image=False))
        elif kind == "text":
            rows = self._item_rows({TEXT}, None)
            parts.append(self._item_part(rows, self._text_value, text=True))
        elif kind == "pr_curves":
            rows = self._item_rows({PR_CURVES}, None)
            parts.append(self._pr_part(rows))
        cols = _concat_parts(parts)
        self._cache[kind] = cols
        return cols

    def _base(
        self,
        run: np.ndarray,
        file: np.ndarray,
        tag_names: np.ndarray,
        step: np.ndarray,
        wall_time: np.ndarray,
        tag_codes: Optional[np.ndarray] = None,
        text: bool = False,
    ) -> dict[str, Any]:
        d: dict[str, Any] = {
            "_file": file,
            "_run": run,
            "step": step,
            "tag": tag_names,
            "wall_time": wall_time,
        }
        if tag_codes is not None:
            d["_tagkey"] = self._rank("text" if text else "tag")[np.asarray(tag_codes)]
        if "dir_name" in self._extra_columns:
            d["dir_name"] = self._dir_name(run)
        if "file_name" in self._extra_columns:
            d["file_name"] = self._file_name(file)
        return d

    def _rank(self, what: str) -> np.ndarray:
        """Sort rank of each tag, run or file code by the name the frames show for it (equal
        names, equal ranks), so rows sort on integers instead of strings."""
        key = f"_rank_{what}"
        if key not in self._cache:
            r = self._result
            if what in ("tag", "text"):
                table = list(r.tags)
                if what == "text":
                    table = [
                        t[: -len(TEXT_SUFFIX)] if t.endswith(TEXT_SUFFIX) else t for t in table
                    ]
            elif what == "run":
                table = ["" if x == "." else x for x in r.runs]
                if self._is_file:
                    table = ["" for _ in table]
            else:
                table = [os.path.basename(f["path"]) for f in r.files]
            if table:
                _, inv = np.unique(_objarr(table), return_inverse=True)
            else:
                inv = np.zeros(0, dtype=np.int64)
            self._cache[key] = np.asarray(inv, dtype=np.int64).reshape(-1)
        rank: np.ndarray = self._cache[key]
        return rank

    def _scalar_part(self, sel: Optional[np.ndarray], as_tensor: bool) -> dict[str, Any]:
        s = self._result.raw_scalars

        def take(a: np.ndarray) -> np.ndarray:
            return a if sel is None else a[sel]

        d = self._base(
            take(s["run"]),
            take(s["file"]),
            _names(self._result.tags, take(s["tag"])),
            take(s["step"]),
            take(s["wall_time"]),
            tag_codes=take(s["tag"]),
        )
        value = take(s["value"])
        if as_tensor:
            obj = np.empty(len(value), dtype=object)
            obj[:] = value.tolist()
            value = obj
            d["_scalar_tensor"] = np.ones(len(value), dtype=bool)
        d["value"] = value
        return d

    def _item_part(
        self,
        rows: np.ndarray,
        conv: Optional[Callable[[Any], Any]],
        histo: bool = False,
        text: bool = False,
    ) -> dict[str, Any]:
        it = self._result.items
        tags = _names(self._result.tags, it["tag"][rows])
        if text:
            tags = np.array(
                [t[: -len(TEXT_SUFFIX)] if t.endswith(TEXT_SUFFIX) else t for t in tags],
                dtype=object,
            )
        d = self._base(
            it["run"][rows],
            it["file"][rows],
            tags,
            it["step"][rows],
            it["wall_time"][rows],
            tag_codes=it["tag"][rows],
            text=text,
        )
        if text:
            d["_rawtag"] = it["tag"][rows]
        data = [it["data"][i] for i in rows]
        if histo:
            hs = [self._histogram(x) for x in data]
            for key in ("counts", "limits"):
                col = _objarr([h[key] for h in hs])
                d[key] = col
            for key in ("max", "min", "num", "sum", "sum_squares"):
                d[key] = np.array([h[key] for h in hs], dtype=np.float64)
        else:
            if conv is None:  # only histograms come without a converter
                raise TypeError("_item_part: conv is required unless histo=True")
            col = _objarr([conv(x) for x in data])
            d["value"] = col
        return d

    @staticmethod
    def _histogram(x: Any) -> dict[str, Any]:
        if isinstance(x, dict):
            return {
                "counts": np.asarray(x["counts"], dtype=np.float64),
                "limits": np.asarray(x["limits"], dtype=np.float64),
                **{k: x[k] for k in ("max", "min", "num", "sum", "sum_squares")},
            }
        t = _tensor_array(x).astype(np.float64).reshape(-1, 3)
        if len(t) == 0:
            limits = np.zeros(0)
            counts = np.zeros(0)
            return {
                "counts": counts,
                "limits": limits,
                "min": np.nan,
                "max": np.nan,
                "num": 0.0,
                "sum": np.nan,
                "sum_squares": np.nan,
            }
        limits = np.concatenate([[t[0, 0]], t[:, 1]])
        counts = np.concatenate([[0.0], t[:, 2]])
        return {
            "counts": counts,
            "limits": limits,
            "min": float(limits[0]),
            "max": float(limits[-1]),
            "num": float(counts.sum()),
            "sum": np.nan,
            "sum_squares": np.nan,
        }

    @staticmethod
    def _tensor_value(x: Any) -> Any:
        arr = _tensor_array(x)
        return arr.item() if arr.shape == () else arr

    @staticmethod
    def _text_value(x: Any) -> Any:
        arr = _tensor_array(x)
        if arr.size == 1:
            v = arr.reshape(()).item()
            return v.decode("utf-8") if isinstance(v, bytes) else v
        return np.vectorize(lambda b: b.decode("utf-8", "replace"), otypes=[object])(arr)

    def _media_part(self, rows: np.ndarray, image: bool) -> dict[str, Any]:
        it = self._result.items
        run: list[int] = []
        file: list[int] = []
        tag: list[int] = []
        step: list[int] = []
        wt: list[float] = []
        encs: list[Any] = []
        extra: list[dict[str, Any]] = []
        tf_audio: list[int] = []  # positions of TensorFlow audio, whose metadata is in the WAV
        for i in rows:
            x = it["data"][i]
            if isinstance(x, dict):
                items = [(x["encoded"], x)]
            elif image:  # TF: [width, height, png, png, ...]
                arr = _tensor_array(x).reshape(-1)
                w = int(arr[0]) if len(arr) > 0 else 0
                h = int(arr[1]) if len(arr) > 1 else 0
                items = [(b, {"width": w, "height": h}) for b in arr[2:]]
            else:  # TF: [k, 2] of (wav, label)
                t = _tensor_array(x)
                pairs: Any = t.reshape(-1, 2) if t.size else []
                items = [(row[0], {"content_type": "audio/wav"}) for row in pairs]
                tf_audio.extend(range(len(encs), len(encs) + len(items)))
            for enc, meta in items:
                run.append(it["run"][i])
                file.append(it["file"][i])
                tag.append(it["tag"][i])
                step.append(it["step"][i])
                wt.append(it["wall_time"][i])
                encs.append(enc)
                extra.append(meta)
        if tf_audio:
            infos = wav_infos([encs[j] for j in tf_audio])
            for j, info in zip(tf_audio, infos):
                rate, _channels, frames = info if info is not None else (0, 0, 0)
                extra[j] = {**extra[j], "length_frames": frames, "sample_rate": float(rate)}
        vals = self._decode_batch(encs, image, tag, step, file) if self._decode else encs
        d = self._base(
            np.array(run, dtype=np.uint32),
            np.array(file, dtype=np.uint32),
            _names(self._result.tags, np.array(tag, dtype=np.uint32)),
            np.array(step, dtype=np.int64),
            np.array(wt, dtype=np.float64),
            tag_codes=np.array(tag, dtype=np.int64),
        )
        d["value"] = _objarr(vals)
        keys = ("height", "width") if image else ("content_type", "length_frames", "sample_rate")
        for k in keys:
            d[k] = [m.get(k) for m in extra]
        return d

    def _decode_batch(
        self, encs: list[Any], image: bool, tag: list[int], step: list[int], file: list[int]
    ) -> list[Any]:
        """Decodes a batch of encoded images or WAVs in one native call; a failure names
        the record."""
        try:
            if image:
                return decode_images(encs)
            return [a for a, _rate in decode_wavs(encs)]
        except ValueError as e:
            j = e.args[1] if len(e.args) > 1 else 0
            raise ValueError(
                f"cannot decode the {'image' if image else 'audio'} of tag "
                f"{self._result.tags[tag[j]]!r} at step {int(step[j])} in "
                f"{self._result.files[file[j]]['path']}: {e.args[0].split(': ', 1)[-1]} "
                "(decode=False keeps the encoded bytes)"
            ) from None

    def _pr_part(self, rows: np.ndarray) -> dict[str, Any]:
        it = self._result.items
        d = self._base(
            it["run"][rows],
            it["file"][rows],
            _names(self._result.tags, it["tag"][rows]),
            it["step"][rows],
            it["wall_time"][rows],
            tag_codes=it["tag"][rows],
        )
        names = (
            "true_positives",
            "false_positives",
            "true_negatives",
            "false_negatives",
            "precision",
            "recall",
        )
        mats = [_tensor_array(it["data"][i]).reshape(6, -1) for i in rows]
        for j, name in enumerate(names):
            col = _objarr([m[j] for m in mats])
            d[name] = col
        col = _objarr(
            [np.linspace(0.0, 1.0, m.shape[1]) if m.shape[1] > 1 else np.zeros(1) for m in mats]
        )
        d["thresholds"] = col
        return d

    def _hparams_cols(self) -> dict[str, Any]:
        it = self._result.items
        ssi_file: dict[int, int] = {}
        for i in np.flatnonzero(it["kind"] == HPARAMS):
            if self._result.tags[it["tag"][i]] == "_hparams_/session_start_info":
                ssi_file.setdefault(int(it["run"][i]), int(it["file"][i]))
        tags, values, runs, files = [], [], [], []
        for run_idx, h in enumerate(self._result.hparams_records):
            for k, v in h["hparams"].items():
                tags.append(k)
                values.append(v)
                runs.append(run_idx)
                files.append(ssi_file.get(run_idx, 0))
        runs_a = np.array(runs, dtype=np.uint32)
        files_a = np.array(files, dtype=np.uint32)
        cols: dict[str, Any] = {
            "_file": files_a,
            "tag": _objarr(tags),
            "value": values,
            "dir_name": self._dir_name(runs_a),
            "file_name": self._file_name(files_a),
        }
        order = np.argsort(files_a, kind="stable")
        return {k: (_objarr(v) if isinstance(v, list) else v)[order] for k, v in cols.items()}

    def _finish(self, cols: dict[str, Any]) -> Any:
        """Columns in tbparse's layout, sorted (and pivoted) as tbparse does."""
        pd = _pandas()

        n = len(cols["tag"]) if "tag" in cols else 0
        if n == 0:
            return pd.DataFrame()
        extras = self._extra_columns
        value_cols = [
            c
            for c in cols
            if not c.startswith("_")
            and c not in ("step", "tag", "wall_time", "dir_name", "file_name")
        ]
        hist_stats = {"max", "min", "num", "sum", "sum_squares"}
        media_meta = {"height", "width", "content_type", "length_frames", "sample_rate"}
        value_cols = [
            c for c in value_cols if not ((c in hist_stats or c in media_meta) and c not in extras)
        ]
        has_step = "step" in cols
        trailing: list[str] = [
            c
            for c in ("wall_time", "dir_name", "file_name")
            if c in extras and c in cols and not (c == "wall_time" and not has_step)
        ]
        if self._pivot:
            return self._pivot_frame(cols, value_cols, has_step, trailing)
        order_cols: list[str] = (["step"] if has_step else []) + ["tag", *value_cols, *trailing]
        keys = []
        if "dir_name" in extras:
            if "_run" in cols:
                keys.append(self._rank("run")[np.asarray(cols["_run"], dtype=np.int64)])
            else:
                keys.append(np.asarray(cols["dir_name"]))
        if "file_name" in extras:
            keys.append(self._rank("file")[np.asarray(cols["_file"], dtype=np.int64)])
        tagkey = cols.get("_tagkey")
        keys.append(tagkey if tagkey is not None else np.asarray(cols["tag"]))
        step = np.asarray(cols["step"]) if has_step else np.zeros(n, dtype=np.int64)
        perm = _sorted_order(step, keys)
        data = {}
        for c in order_cols:
            v = _objarr(cols[c]) if isinstance(cols[c], list) else cols[c]
            v = v[perm]
            # Object columns go in as lists, so pandas infers their dtype as for tbparse.
            data[c] = v.tolist() if v.dtype == object and c != "tag" else v
        return pd.DataFrame(data)

    def _file_frame(
        self,
        cols: dict[str, Any],
        rows: list[int],
        value_cols: list[str],
        has_step: bool,
        trailing: list[str],
    ) -> Any:
        """One event file's pivoted frame, built as tbparse builds it."""
        pd = _pandas()

        tags = [cols["tag"][i] for i in rows]
        # tbparse walks each file's tags in first-seen order, then their events in order.
        seen: Any = range(len(rows))
        scalar = cols.get("_scalar_tensor")
        if scalar is not None:
            # Scalar tensors and other tensors: wall time interleaves the two lists.
            is_scalar = [isinstance(scalar[i], (bool, np.bool_)) and bool(scalar[i]) for i in rows]
            if any(is_scalar) and not all(is_scalar):
                wall = [float(cols["wall_time"][i]) for i in rows]
                seen = sorted(range(len(rows)), key=lambda j: (wall[j], j))
        first: dict[str, int] = {}
        for k, j in enumerate(seen):
            first.setdefault(tags[j], k)
        order = sorted(range(len(rows)), key=lambda j: (first[tags[j]], j))
        rows = [rows[j] for j in order]
        n = len(rows)
        out: dict[str, list[Any]] = {}
        for c in trailing:
            # Directory names are prefixed level by level on the way up, as tbparse does.
            out[c] = ["" if c == "dir_name" else cols[c][i] for i in rows]
        if has_step:
            out["step"] = [int(cols["step"][i]) for i in rows]
        for j, i in enumerate(rows):
            t = cols["tag"][i]
            for vc in value_cols:
                # tbparse names a kind's value column after the tag, its other columns
                # (histogram fields, image and audio metadata) ``<tag>/<field>``.
                key = t if vc == "value" else f"{t}/{vc}"
                out.setdefault(key, [np.nan] * n)[j] = _py(cols[vc][i])
        for c in trailing:  # tbparse moves these last
            out[c] = out.pop(c)
        return pd.DataFrame.from_dict(out)

    def _merge_level(self, dfs: list[Any]) -> Any:
        pd = _pandas()

        dfs = [d for d in dfs if d is not None and len(d.columns)]
        if not dfs:
            return pd.DataFrame()
        st = pd.concat(dfs, ignore_index=True)
        if st.empty:
            return pd.DataFrame()
        group: list[Any] = [c for c in ("dir_name", "file_name") if c in self._extra_columns]
        group = [c for c in [*group, "step"] if c in st.columns]
        st = st.sort_values(group, ignore_index=True)
        by = group if group else [True] * len(st)
        df = st.groupby(by, sort=False).aggregate(_merge_values)
        df = df.reset_index()
        middle = sorted(
            c for c in st.columns if c not in ("step", "wall_time", "dir_name", "file_name")
        )
        columns = ["step", *middle, "wall_time", "dir_name", "file_name"]
        return df[[c for c in columns if c in st.columns]]

    def _pivot_frame(
        self, cols: dict[str, Any], value_cols: list[str], has_step: bool, trailing: list[str]
    ) -> Any:
        """tbparse's pivot: per file, then merged directory by directory up to the root."""
        files = self._result.files
        by_file: dict[int, list[int]] = {}
        for i, f in enumerate(np.asarray(cols["_file"])):
            by_file.setdefault(int(f), []).append(i)
        root = os.path.abspath(self._log_path)
        # Tree of directories (relative path parts) -> their file frames and subdirectories.
        tree: dict[str, Any] = {}
        for f, rows in by_file.items():
            path = os.path.abspath(files[f]["path"])
            rel = "" if self._is_file else os.path.relpath(path, root)
            parts = rel.split(os.sep) if rel else [os.path.basename(path)]
            node = tree
            for d in parts[:-1]:
                node = node.setdefault(d, {})
            node[parts[-1]] = self._merge_level(
                [self._file_frame(cols, rows, value_cols, has_step, trailing)]
            )

        def walk(node: dict[str, Any]) -> Any:
            dfs = []
            for name in sorted(node):
                child = node[name]
                if isinstance(child, dict):
                    df = walk(child)
                    if "dir_name" in df:
                        cond = df["dir_name"] == ""
                        df.loc[cond, "dir_name"] = name
                        df.loc[~cond, "dir_name"] = name + "/" + df.loc[~cond, "dir_name"]
                else:
                    df = child
                dfs.append(df)
            return self._merge_level(dfs)

        if self._is_file:
            return next(iter(tree.values()))
        return walk(tree)


def _py(x: Any) -> Any:
    """numpy scalars to Python scalars (as tbparse's cells hold them)."""
    return x.item() if isinstance(x, np.generic) else x


def _merge_values(s: Any) -> Any:
    """Merge the values of one group as tbparse does: drop NaNs, flatten lists."""
    pd = _pandas()

    if len(s) == 1:
        return s.iloc[0]
    lst: list[Any] = []
    for x in s:
        if isinstance(x, list):
            lst.extend(x)
        elif np.isscalar(x):
            if not pd.isnull(x):
                lst.append(x)
        else:
            lst.append(x)
    if not lst:
        return np.nan
    if len(lst) == 1:
        return lst[0]
    return lst


def _concat_parts(parts: list[dict[str, Any]]) -> dict[str, Any]:
    parts = [p for p in parts if len(p["tag"])]
    if not parts:
        return {"tag": np.empty(0, dtype=object)}
    out: dict[str, Any] = {}
    if len(parts) == 1:
        out = {k: (_objarr(v) if isinstance(v, list) else v) for k, v in parts[0].items()}
    else:
        keys = list(dict.fromkeys(k for p in parts for k in p))
        for k in keys:
            vals = []
            for p in parts:
                v = p.get(k)
                if v is None:
                    v = [np.nan] * len(p["tag"])
                vals.append(_objarr(v) if isinstance(v, list) else v)
            out[k] = np.concatenate(vals)
    # Stable order by file: tbparse reads file by file.
    f = np.asarray(out["_file"], dtype=np.int64)
    if len(f) > 1 and bool(np.any(f[1:] < f[:-1])):
        order = np.argsort(f, kind="stable")
        out = {k: v[order] for k, v in out.items()}
    return out
