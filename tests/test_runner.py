"""Sharded runs: worker counts, resume after SIGINT and SIGKILL, incremental runs, limits, gzip."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abstractpipe import runner as runner_module
from abstractpipe.cli import main
from abstractpipe.config import load_config
from abstractpipe.document import Document
from abstractpipe.limits import dom_depth_over
from abstractpipe.pipeline import Step, register_step
from abstractpipe.runner import RunOptions, run_pipeline, run_reduce_task
from abstractpipe.shards import shard_of

from .conftest import REPO, SEEDS

SHARDS = 8
PAUSE_ENV = "ABSTRACTPIPE_TEST_PAUSE_SECONDS"


@register_step("test_pause")
class PauseStep(Step):
    """Test-only: sleeps per page (to interrupt a run mid-way); spins on pages saying SPIN.

    ``PAUSE_ENV`` overrides the configured seconds without entering the config hash, so a run
    that is to be interrupted can be slow (the signal lands before every shard is done, even on
    a loaded machine) and still leave markers that a faster resume with the same config keeps.
    """

    def process(self, doc: Document) -> Document:
        if "SPIN" in doc.text:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:  # pure Python: the watchdog can stop it
                pass
        time.sleep(float(os.environ.get(PAUSE_ENV) or self.settings.get("seconds", 0)))
        return doc


def make_raw(root: Path, copies: int = 1) -> Path:
    """The sample pages of raw/ and the seeds, plus renamed copies (new ids) for more shards."""
    raw = root / "raw"
    shutil.copytree(REPO / "raw", raw)
    shutil.copytree(SEEDS, raw / "seeds")
    for number in range(copies):
        for page in sorted((SEEDS / "researchsummaries").glob("*.txt")):
            target = raw / "copies" / f"{number}-{page.name}"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(page, target)
    return raw


def output_bytes(out: Path) -> dict[str, bytes]:
    names = [p for p in (out / "records").iterdir() if not p.name.startswith(".")]
    files = {f"records/{p.name}": p.read_bytes() for p in names}
    for name in ["quarantine.jsonl", "stats.json", "run.json"]:
        files[name] = (out / name).read_bytes()
    return files


def run(raw: Path, out: Path, *extra: str) -> int:
    return main(["run", "--raw", str(raw), "--out", str(out), "--set", f"run.shards={SHARDS}", *extra])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("corpus")
    raw = make_raw(base)
    clean = base / "clean"
    assert run(raw, clean, "--workers", "1") == 0
    return raw, clean


def test_parts_are_shards_sorted_by_id_and_one_worker_equals_two(corpus, tmp_path: Path) -> None:
    raw, clean = corpus
    parts = sorted((clean / "records").glob("part-*.jsonl"))
    assert [p.name for p in parts] == [f"part-{n:05d}.jsonl" for n in range(SHARDS)]
    ids = []
    for number, part in enumerate(parts):
        part_ids = [json.loads(line)["id"] for line in part.read_text(encoding="utf-8").splitlines()]
        assert all(shard_of(i, SHARDS) == number for i in part_ids)
        ids.extend(part_ids)
    assert ids == sorted(ids) and len(ids) == len(set(ids)) == 10 + 5 + 3
    assert run(raw, tmp_path, "--workers", "2") == 0
    assert output_bytes(tmp_path) == output_bytes(clean)
    timings = json.loads((tmp_path / "timings.json").read_text(encoding="utf-8"))
    assert timings["workers"] == 2 and timings["shards_run"] == SHARDS


def test_the_processing_pass_reuses_the_observation_parse(
    corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import abstractpipe.clean as clean_stage
    import abstractpipe.runner as runner

    raw, clean = corpus
    parsed: list[str] = []
    original = clean_stage.parse_page

    def counting_parse(markup: str, is_html: bool, rules, site, encoded=None):  # type: ignore[no-untyped-def]
        parsed.append(markup)
        return original(markup, is_html, rules, site, encoded)

    monkeypatch.setattr(clean_stage, "parse_page", counting_parse)
    stale = tmp_path / ".state" / "observe" / "clean" / "00000.work"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"left by an older run")
    assert run(raw, tmp_path, "--workers", "1") == 0
    assert output_bytes(tmp_path) == output_bytes(clean)
    pages = [markup for markup in parsed if markup.strip() != runner.WARM_UP_PAGE.strip()]
    assert len(pages) == 10 + 5 + 3  # once a page, in the observation pass
    assert len(parsed) - len(pages) == 1  # and the models' warm-up page, before the first page
    assert not list((tmp_path / ".state").rglob("*.work*"))  # removed once each shard is written


def test_parallel_runs_load_the_models_once_and_a_rerun_with_nothing_to_redo_not_at_all(
    corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import abstractpipe.runner as runner

    raw, clean = corpus
    warm_ups: list[str] = []
    original = runner._warm_up

    def counting(steps, raw_dir):  # type: ignore[no-untyped-def]
        warm_ups.append(str(raw_dir))
        original(steps, raw_dir)

    monkeypatch.setattr(runner, "_warm_up", counting)
    assert run(raw, tmp_path, "--workers", "2") == 0
    assert output_bytes(tmp_path) == output_bytes(clean)
    assert warm_ups == [str(raw)]  # in the driver, once, for both passes' workers
    assert run(raw, tmp_path, "--workers", "2") == 0
    assert warm_ups == [str(raw)]  # every shard kept: no model loaded
    assert output_bytes(tmp_path) == output_bytes(clean)
    # One worker loads them once too, before its first page (outside any page's time limit).
    assert run(raw, tmp_path, "--workers", "1", "--force") == 0
    assert warm_ups == [str(raw), str(raw)]
    assert output_bytes(tmp_path) == output_bytes(clean)


REDUCE_LOG_ENV = "ABSTRACTPIPE_TEST_REDUCE_LOG"


def logged_reduce_task(task):  # type: ignore[no-untyped-def]
    """Test-only stand-in for ``run_reduce_task`` (module level, so a worker can unpickle it)."""
    folder = Path(os.environ[REDUCE_LOG_ENV])
    (folder / f"part-{task.part}-of-{task.parts}.{os.getpid()}").touch()
    return run_reduce_task(task)


def test_parallel_runs_reduce_in_one_part_per_worker_with_the_same_learned_sets(
    corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import abstractpipe.runner as runner

    raw, clean = corpus
    log = tmp_path / "log"
    log.mkdir()
    monkeypatch.setenv(REDUCE_LOG_ENV, str(log))
    monkeypatch.setattr(runner, "run_reduce_task", logged_reduce_task)
    out = tmp_path / "out"
    assert run(raw, out, "--workers", "2") == 0
    assert output_bytes(out) == output_bytes(clean)
    learned = ".state/learned/clean.json"
    assert (out / learned).read_bytes() == (clean / learned).read_bytes()
    made = sorted(path.name.split(".")[0] for path in log.iterdir())
    assert made == ["part-0-of-2", "part-1-of-2"]
    assert os.getpid() not in {int(path.suffix[1:]) for path in log.iterdir()}  # in the workers


def test_saved_work_round_trips_and_misses_read_as_none(tmp_path: Path) -> None:
    from abstractpipe.workfile import WorkReader, WorkWriter

    writer = WorkWriter(tmp_path / "w" / "00001.work")
    writer.add("a", {"blocks": [1, 2]})
    writer.add("b", "second")
    writer.close()
    reader = WorkReader(tmp_path / "w" / "00001.work")
    assert reader.get("b") == "second" and reader.get("a") == {"blocks": [1, 2]} and reader.get("c") is None
    reader.close()
    assert WorkReader(tmp_path / "missing.work").get("a") is None
    (tmp_path / "broken.work").write_bytes(b"xx")
    assert WorkReader(tmp_path / "broken.work").get("a") is None


def test_a_rerun_skips_every_shard_and_force_redoes_them(corpus, tmp_path: Path) -> None:
    raw, clean = corpus
    out = tmp_path / "out"
    shutil.copytree(clean, out)
    summary = run_pipeline(load_config(None, [f"run.shards={SHARDS}"]), raw, out, RunOptions(workers=1))
    assert (summary.shards_run, summary.shards_kept) == (0, SHARDS)
    assert output_bytes(out) == output_bytes(clean)
    forced = run_pipeline(
        load_config(None, [f"run.shards={SHARDS}"]), raw, out, RunOptions(workers=1, force=True)
    )
    assert forced.shards_run == SHARDS
    assert output_bytes(out) == output_bytes(clean)


def test_incremental_run_redoes_only_changed_shards_and_equals_a_clean_run(corpus, tmp_path: Path) -> None:
    raw, clean = corpus
    changed_raw = tmp_path / "raw"
    shutil.copytree(raw, changed_raw)
    out = tmp_path / "out"
    shutil.copytree(clean, out)
    page = changed_raw / "clinic" / "004_50e99ab7af3fb43d.txt"
    page.write_text(page.read_text(encoding="utf-8") + "\nA new closing sentence about 42 patients.\n")
    (changed_raw / "pubmed" / "003_207fb85fdc7ef63b.txt").unlink()
    config = load_config(None, [f"run.shards={SHARDS}"])
    summary = run_pipeline(config, changed_raw, out, RunOptions(workers=1))
    assert 1 <= summary.shards_run <= 2 and summary.shards_kept >= SHARDS - 2
    fresh = tmp_path / "fresh"
    run_pipeline(load_config(None, [f"run.shards={SHARDS}"]), changed_raw, fresh, RunOptions(workers=1))
    assert output_bytes(out) == output_bytes(fresh)
    records = "".join(p.read_text(encoding="utf-8") for p in (out / "records").glob("part-*.jsonl"))
    assert "42 patients" in records and '"path":"pubmed/003_' not in records


def test_a_changed_config_redoes_everything_and_says_so(corpus, tmp_path: Path, capsys) -> None:
    raw, clean = corpus
    out = tmp_path / "out"
    shutil.copytree(clean, out)
    assert run(raw, out, "--workers", "1", "--set", "limits.max_dom_depth=400") == 0
    captured = capsys.readouterr()
    assert "config or corrections changed since the last run" in captured.out
    assert f"{SHARDS} run, 0 unchanged" in captured.out
    assert (out / "records").joinpath("part-00000.jsonl").read_bytes() == (
        clean / "records" / "part-00000.jsonl"
    ).read_bytes()


def test_changed_code_redoes_everything_and_says_so(corpus, tmp_path: Path, capsys, monkeypatch) -> None:
    raw, clean = corpus
    out = tmp_path / "out"
    shutil.copytree(clean, out)
    code = json.loads((clean / "run.json").read_text(encoding="utf-8"))["code_sha256"]
    assert code == runner_module.code_digest() and len(code) == 64
    monkeypatch.setattr(runner_module, "code_digest", lambda: "f" * 64)  # as after an edit or upgrade
    assert run(raw, out, "--workers", "1") == 0
    captured = capsys.readouterr()
    assert "code changed since the last run" in captured.out
    assert f"(code {code[:12]} -> ffffffffffff)" in captured.out
    assert f"{SHARDS} run, 0 unchanged" in captured.out
    assert json.loads((out / "run.json").read_text(encoding="utf-8"))["code_sha256"] == "f" * 64
    assert output_bytes(out) != output_bytes(clean)  # run.json says which code wrote them
    assert (out / "records").joinpath("part-00000.jsonl").read_bytes() == (
        clean / "records" / "part-00000.jsonl"
    ).read_bytes()


def test_code_digest_covers_the_package_files(tmp_path: Path, monkeypatch) -> None:
    package = tmp_path / "abstractpipe"
    (package / "data").mkdir(parents=True)
    (package / "__pycache__").mkdir()
    (package / "runner.py").write_text("x = 1\n")
    (package / "data" / "model.json").write_text("{}")
    (package / "__pycache__" / "runner.cpython-311.pyc").write_bytes(b"compiled")

    def digest() -> str:
        monkeypatch.setattr(runner_module, "__file__", str(package / "runner.py"))
        return runner_module.code_digest.__wrapped__()

    first = digest()
    (package / "__pycache__" / "runner.cpython-311.pyc").write_bytes(b"recompiled")
    assert digest() == first  # byte code is not code
    (package / "data" / "model.json").write_text('{"w": 1}')
    second = digest()
    assert second != first  # a shipped model is
    (package / "runner.py").write_text("x = 2\n")
    assert digest() != second


def test_gzip_parts_hold_the_same_records_and_replace_plain_ones(corpus, tmp_path: Path) -> None:
    raw, clean = corpus
    out = tmp_path / "out"
    shutil.copytree(clean, out)
    assert run(raw, out, "--workers", "1", "--gzip") == 0
    assert not list((out / "records").glob("*.jsonl"))
    for number in range(SHARDS):
        packed = (out / "records" / f"part-{number:05d}.jsonl.gz").read_bytes()
        assert gzip.decompress(packed) == (clean / "records" / f"part-{number:05d}.jsonl").read_bytes()
    again = tmp_path / "again"
    assert run(raw, again, "--workers", "2", "--gzip") == 0
    assert output_bytes(again) == output_bytes(out)


def test_pages_over_a_limit_are_quarantined_with_the_reason(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    (raw / "site").mkdir(parents=True)
    shutil.copy(SEEDS / "clinic" / "004_50e99ab7af3fb43d.txt", raw / "site" / "ok.txt")
    (raw / "site" / "big.txt").write_text("Aspirin lowers fever in adults. " * 400, encoding="utf-8")
    (raw / "site" / "deep.html").write_text(
        "<html><body>"
        + "<div>" * 300
        + "<p>Deep text about aspirin.</p>"
        + "</div>" * 300
        + "</body></html>",
        encoding="utf-8",
    )
    (raw / "site" / "spin.txt").write_text(
        "A trial of aspirin in 120 adults with fever. SPIN\n\nAspirin lowered fever within two hours.\n",
        encoding="utf-8",
    )
    config = REPO / "configs" / "default.yaml"
    out = tmp_path / "out"
    code = main(
        [
            "run",
            str(config),
            "--raw",
            str(raw),
            "--out",
            str(out),
            "--workers",
            "1",
            "--set",
            "pipeline=[ingest, clean, language, sections, sentences, align, extract, test_pause]",
            "--set",
            "limits={max_page_bytes: 10000, max_dom_depth: 200, max_seconds_per_page: 0.5}",
        ]
    )
    assert code == 1
    lines = [json.loads(x) for x in (out / "quarantine.jsonl").read_text(encoding="utf-8").splitlines()]
    reasons = {q["path"]: (q["stage"], q["error"]) for q in lines}
    assert set(reasons) == {"site/big.txt", "site/deep.html", "site/spin.txt"}
    assert reasons["site/big.txt"] == ("limits", "page too large: 12800 bytes > limits.max_page_bytes 10000")
    assert reasons["site/deep.html"][0] == "limits" and "max_dom_depth" in reasons["site/deep.html"][1]
    assert reasons["site/spin.txt"] == (
        "limits",
        "over limits.max_seconds_per_page (0.5 s) in stage test_pause",
    )
    stats = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    assert (stats["records"], stats["quarantined_by_stage"]) == (1, {"limits": 3})


def test_each_page_depth_is_estimated_once_a_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:

    raw = tmp_path / "raw"
    shutil.copytree(REPO / "raw", raw)
    deep = (
        "<html><body>" + "<div>" * 40 + "<p>Deep text about aspirin.</p>" + "</div>" * 40 + "</body></html>"
    )
    (raw / "site").mkdir()
    (raw / "site" / "deep.html").write_text(deep, encoding="utf-8")
    estimated: list[int] = []
    real_estimate = runner_module.dom_depth_over

    def counting(markup: str, limit: int) -> int | None:
        estimated.append(limit)
        return real_estimate(markup, limit)

    monkeypatch.setattr(runner_module, "dom_depth_over", counting)
    out = tmp_path / "out"
    args = ["run", str(REPO / "configs" / "default.yaml"), "--raw", str(raw), "--out", str(out)]
    assert main([*args, "--workers", "1", "--set", "limits.max_dom_depth=30"]) == 1
    html_pages = 6  # five sample HTML pages and the deep one
    assert len(estimated) == html_pages  # in the observation pass only
    quarantine = [json.loads(x) for x in (out / "quarantine.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(q["path"], q["stage"]) for q in quarantine] == [("site/deep.html", "limits")]
    assert "(31 > 30)" in quarantine[0]["error"]
    assert not list((out / ".state").rglob("*.work*"))  # the verdicts go with the shard's other work


def test_dom_depth_estimate_follows_html_nesting_rules() -> None:
    flat = "<ul>" + "<li>item" * 500 + "</ul>" + "<p>para" * 500 + "<br>" * 500
    assert dom_depth_over(flat, 10) is None
    assert dom_depth_over("<div>" * 30 + "</div>" * 30, 20) == 21
    assert dom_depth_over("<script>" + "<div>" * 50 + "</script>" + "<i>x</i>" * 30, 20) is None


def _reference_depth_over(markup: str, limit: int) -> int | None:
    """The estimate spelled out plainly (a list scan per end tag): what the fast one must say."""
    import re

    from abstractpipe.limits import RAW_TEXT, SELF_CLOSING_SIBLINGS, VOID_ELEMENTS

    stack: list[str] = []
    for match in re.finditer(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)[^>]*?(/?)>", RAW_TEXT.sub("", markup)):
        closing, name, self_closed = match.group(1), match.group(2).lower(), match.group(3)
        if closing:
            if name in stack:
                del stack[len(stack) - 1 - stack[::-1].index(name) :]
        elif not (name in VOID_ELEMENTS or self_closed):
            if name in SELF_CLOSING_SIBLINGS and stack and stack[-1] == name:
                stack.pop()
            stack.append(name)
            if len(stack) > limit:
                return len(stack)
    return None


TAG_SOUP = st.lists(
    st.sampled_from(
        [
            "<div>",
            "</div>",
            "<DIV class=a>",
            "</Div >",
            "<p>",
            "</p>",
            "<li>",
            "<br>",
            "<br/>",
            "<img src=x />",
            "<span>",
            "</span>",
            "</b>",
            "<a href='/x/'>",
            "</a>",
            "<script>",
            "</script>",
            "<!--",
            "-->",
            "<x:y>",
            "</x:y>",
            "text",
            ">",
            "<",
            "/",
        ]
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(TAG_SOUP, st.integers(0, 12))
def test_dom_depth_estimate_matches_the_plain_reference(parts: list[str], limit: int) -> None:
    markup = "".join(parts)
    assert dom_depth_over(markup, limit) == _reference_depth_over(markup, limit)


def _run_in_subprocess(raw: Path, out: Path, workers: int, seconds: float) -> subprocess.Popen:
    """The run in a child process, configured like ``_pause_config(0.1)`` but pausing ``seconds``."""
    # A child inherits an ignored SIGINT (Python then installs no handler of its own), so the
    # child restores the default: the test must not depend on how pytest itself was started.
    code = (
        "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
        f"import sys; sys.path.insert(0, {str(REPO)!r}); import tests.test_runner; "
        "from abstractpipe.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            code,
            "run",
            "--raw",
            str(raw),
            "--out",
            str(out),
            "--workers",
            str(workers),
            "--no-progress",
            *(arg for value in _pause_config(0.1) for arg in ("--set", value)),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, PAUSE_ENV: str(seconds)},
    )


def _wait_for_markers(out: Path, process: subprocess.Popen, count: int) -> int:
    markers = out / ".state" / "shards"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        done = len(list(markers.glob("*.json"))) if markers.is_dir() else 0
        if done >= count:
            return done
        time.sleep(0.02)
    raise AssertionError(f"the run ended or stalled before {count} shards were done")


def _pause_config(seconds: float) -> list[str]:
    return [
        f"run.shards={SHARDS}",
        "pipeline=[ingest, clean, language, sections, sentences, align, extract, test_pause]",
        f"test_pause.seconds={seconds}",
    ]


@pytest.mark.parametrize(("workers", "how"), [(1, signal.SIGKILL), (2, signal.SIGINT)])
def test_an_interrupted_run_resumed_gives_exactly_the_uninterrupted_records(
    corpus, tmp_path: Path, workers: int, how: signal.Signals
) -> None:
    raw, _ = corpus
    out = tmp_path / "out"
    process = _run_in_subprocess(raw, out, workers, 0.6)
    _wait_for_markers(out, process, 2)
    os.kill(process.pid, how)
    _, stderr = process.communicate(timeout=60)
    done = list((out / ".state" / "shards").glob("*.json"))
    assert 2 <= len(done) < SHARDS
    if how == signal.SIGINT:
        assert process.returncode == 130, stderr
        assert "run the same command again to resume" in stderr
    else:
        assert process.returncode == -signal.SIGKILL
    resumed = run_pipeline(load_config(None, _pause_config(0.1)), raw, out, RunOptions(workers=1))
    assert resumed.shards_kept >= len(done) and resumed.shards_run == SHARDS - resumed.shards_kept
    clean = tmp_path / "clean"
    run_pipeline(load_config(None, _pause_config(0.0)), raw, clean, RunOptions(workers=1))
    assert output_bytes(out).keys() == output_bytes(clean).keys()
    for name, data in output_bytes(clean).items():
        if name != "run.json":  # holds the config, which differs in test_pause.seconds only
            assert output_bytes(out)[name] == data, name
    assert not list((out / "records").glob(".*.tmp"))


def test_planning_spools_pages_to_disk_with_the_same_plans(tmp_path: Path, monkeypatch) -> None:
    from abstractpipe import shards

    raw = tmp_path / "raw"
    shutil.copytree(REPO / "raw", raw)
    held, _ = shards.plan_shards(raw, 3, {}, tmp_path / "held")
    monkeypatch.setattr(shards, "SPOOL_ROWS", 2)  # rows go to the spool files every two pages
    spooled, _ = shards.plan_shards(raw, 3, {}, tmp_path / "spooled")
    assert [(p.number, p.pages, p.count, p.digest, p.sites) for p in spooled] == [
        (p.number, p.pages, p.count, p.digest, p.sites) for p in held
    ]
    assert sum(p.count for p in spooled) == 10
    assert sorted(f.name for f in (tmp_path / "spooled").iterdir()) == [
        f"{p.number:05d}.jsonl" for p in spooled if p.count
    ]  # spool files are gone once read


def test_file_list_is_streamed_in_path_order_and_read_forward(tmp_path: Path, monkeypatch) -> None:
    import hashlib

    from abstractpipe import shards
    from abstractpipe.shards import State, plan_shards, plan_shards_into_state

    raw = tmp_path / "raw"
    shutil.copytree(REPO / "raw", raw)
    (raw / "a-b").mkdir()  # "a-b/x" sorts before "a/x" as a string, and is met first
    (raw / "a-b" / "x.txt").write_text("Aspirin reduced fever.\n", encoding="utf-8")
    (raw / "a").mkdir()
    (raw / "a" / "x.txt").write_text("Aspirin reduced pain.\n", encoding="utf-8")
    plans, files = plan_shards(raw, 8, {}, tmp_path / "plan-whole")
    state = State(tmp_path / "out")
    header = {"config_sha256": "abc", "shards": 8}
    streamed = plan_shards_into_state(raw, 8, header, state)
    rows = [json.loads(line) for line in state.files_path.read_text(encoding="utf-8").splitlines()]
    assert rows == [[key, files[key]] for key in sorted(files)]  # every file, sorted by path
    assert state.load_manifest() == header
    assert [(p.number, p.pages, p.digest, p.sites) for p in streamed] == [
        (p.number, p.pages, p.digest, p.sites) for p in plans
    ]
    # The next run reads the list forward: no unchanged file is hashed again, a changed one is.
    (raw / "a" / "x.txt").write_text("Aspirin reduced more pain.\n", encoding="utf-8")
    hashed: list[str] = []
    real_sha256 = shards.file_sha256
    monkeypatch.setattr(
        shards, "file_sha256", lambda path: hashed.append(os.path.basename(path)) or real_sha256(path)
    )
    again = plan_shards_into_state(raw, 8, header, state)
    assert hashed == ["x.txt"]
    assert sum(a.digest != p.digest for a, p in zip(again, streamed, strict=True)) == 1
    for plan in plans:  # the digest and sites of the pages as PageRefs, sorted by (id, path)
        pages = plan.pages
        assert [(p.id, p.path) for p in pages] == sorted((p.id, p.path) for p in pages)
        payload = "\n".join(f"{p.id}\t{p.path}\t{p.sha256}" for p in pages)
        assert plan.digest == hashlib.sha256(payload.encode("utf-8")).hexdigest()
        assert plan.sites == sorted({p.site for p in pages}) and plan.count == len(pages)
