"""The peer metric: LiteRT (XNNPACK, builtin) and onnxruntime for aarch64 counted next to edgeai on rpi4, under
qemu-aarch64 with the icount plugin. Needs the peer set-up (`edgeai bench --setup-peers`, not part of CI's set-up):
without it the counting test skips and says so."""


import pytest

from edgeai.bench.peer_setup import peers_root, setup_problem
from edgeai.bench.peers import PEERS

# The user's set-up, located before the session's private cache (tmp_cache) replaces EDGEAI_CACHE.
USER_PEERS = str(peers_root())


@pytest.fixture
def user_peers(monkeypatch):
    monkeypatch.setenv("EDGEAI_PEERS", USER_PEERS)
    problem = setup_problem()
    if problem is not None:
        pytest.skip(f"peer set-up unavailable: {problem}")


@pytest.mark.slow
@pytest.mark.qemu
@pytest.mark.toolchain
def test_ad01_peers_are_counted_identically_run_to_run_and_match_the_desktop(tmp_cache, user_peers):
    from edgeai.bench.jobs import measure
    from edgeai.bench.suite import BenchModel
    from tests.conftest import model_path

    model = BenchModel("ad", model_path("ad01_int8.tflite"), model_path("ad01_int8.onnx"))
    runs = [{r["backend"]: r for r in measure(model, "rpi4", 2, 1, peers=True)} for _ in range(2)]
    for results in runs:
        assert set(results) == {"edgeai", *PEERS}, [r.get("error") for r in results.values()]
        assert all(r["status"] == "ok" for r in results.values())
        edgeai = results["edgeai"]
        assert edgeai["runs_on"] == "qemu-aarch64 -cpu cortex-a72" and edgeai["bit_exact"] == 2
        for peer in PEERS:
            r = results[peer]
            # aarch64 and x86 builds of the same release and kernels agree bit for bit on int8
            assert r["desktop_identical"] == r["samples"] == 2, peer
            assert 0 < r["marker_instructions"] < r["instructions_min"], peer
            assert r["edgeai_ratio"] == pytest.approx(edgeai["instructions"] / r["instructions"])
    first, second = runs
    assert first["edgeai"]["instructions"] == second["edgeai"]["instructions"]
    from edgeai.bench.report import markdown

    page = markdown({"suite": "ad", "created": "now", "machine": {"platform": "here"}, "results": list(first.values())})
    row = f"| ad | rpi4 | {first['edgeai']['instructions']:,} | {first['litert-xnnpack']['instructions']:,} | "
    assert row in page  # the side-by-side table: edgeai, then each peer with edgeai ÷ peer
    for peer in PEERS:
        assert first[peer]["marker_instructions"] == second[peer]["marker_instructions"]
        a, b = first[peer]["instructions_per_sample"], second[peer]["instructions_per_sample"]
        if peer == "onnxruntime":
            # Not exact: its inference thread still varies by a few hundred instructions in ~230,000 (locks
            # shared with threads of its own); benchmarks/pi_class/README.md says so.
            assert a == pytest.approx(b, rel=0.002), peer
        else:
            assert a == b, peer


def test_a_missing_setup_is_named_with_the_command_that_creates_it(tmp_path, monkeypatch):
    import shutil

    if shutil.which("qemu-aarch64") is None:
        pytest.skip("qemu-aarch64 (qemu-user) not installed: the problem named is that one")
    monkeypatch.setenv("EDGEAI_PEERS", str(tmp_path))
    problem = setup_problem()
    assert problem is not None and str(tmp_path) in problem and "edgeai bench --setup-peers" in problem


def test_bench_without_the_setup_skips_the_peers_with_a_note(tmp_path, monkeypatch, capsys):
    from edgeai.bench import Suite, run_suite
    from edgeai.bench.report import markdown

    monkeypatch.setenv("EDGEAI_PEERS", str(tmp_path))
    data = run_suite(Suite("none", (), ("rpi4",)), jobs=1, progress=False)  # no models: nothing compiles
    (note,) = data["notes"]
    assert note.startswith("peers (LiteRT, onnxruntime on aarch64) skipped: ")
    assert note in capsys.readouterr().err and f"- {note}" in markdown(data)
