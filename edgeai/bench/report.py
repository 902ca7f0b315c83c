"""Benchmark results for people: Markdown tables and an HTML page with plots, from the JSON results."""

from __future__ import annotations

from html import escape

from edgeai.bench.charts import bar_chart


def _fmt(v, digits: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _mve(est: dict) -> str:
    """The MVE part of a cycle estimate: instructions / beats / cycles with the overlap (cycles it saves)."""
    mve = est.get("mve")
    if not mve:
        return "–"
    return (f"{_fmt(mve['instructions'])} / {_fmt(mve['beats'])} / {_fmt(mve['cycles'])} "
            f"(−{_fmt(mve['cycles_saved_by_overlap'])})")


def _device_rows(results):
    rows = []
    for r in results:
        if r.get("status") != "ok" or r["target"] == "host" or r["backend"] != "edgeai":
            continue
        est = r.get("estimate") or {}
        rows.append([r["model"], r["target"], _fmt(r.get("instructions")), _fmt(est.get("cycles")),
                     _fmt(est.get("cycles_per_instruction"), 2), _mve(est), _fmt(r.get("macs_per_instruction")),
                     _fmt(est.get("latency_ms"), 2), _fmt(est.get("energy_mj")), _fmt(r.get("flash_bytes")),
                     _fmt(r.get("model_weight_bytes")), _fmt(r.get("model_code_bytes")),
                     _fmt(r.get("model_library_flash_bytes")), _fmt(r.get("arena_bytes")), _fmt(r.get("ram_bytes")),
                     f"{r['bit_exact']}/{r['samples']}"])
    return rows


def _host_rows(results):
    rows = []
    for r in results:
        if r.get("status") != "ok" or r["target"] != "host":
            continue
        quartiles = r.get("wall_ms_quartiles")
        spread = f" ({_fmt(quartiles[0])}–{_fmt(quartiles[1])})" if quartiles else ""
        rows.append([r["model"], r["backend"], _fmt(r.get("wall_ms")) + spread,
                     _fmt(r.get("edgeai_speedup"), 2) if r["backend"] != "edgeai" else "1.00",
                     f"{r['bit_exact']}/{r['samples']}" if "samples" in r else "–"])
    return rows


def _peer_rows(results):
    """aarch64 targets: edgeai and each peer's instructions per inference side by side, and edgeai ÷ peer."""
    from edgeai.bench.peers import PEERS

    ok = [r for r in results if r.get("status") == "ok" and r["target"] != "host"]  # the host has an "onnxruntime" too
    peers = [p for p in ok if p["backend"] in PEERS]
    rows = []
    for r in ok:
        found = {p["backend"]: p for p in peers if (p["model"], p["target"]) == (r["model"], r["target"])}
        if r["backend"] != "edgeai" or not found:
            continue
        row = [r["model"], r["target"], _fmt(r.get("instructions"))]
        for peer in PEERS:
            p = found.get(peer, {})
            row += [_fmt(p.get("instructions")), _fmt(p.get("edgeai_ratio"), 2)]
        row.append(", ".join(f"{found[peer]['desktop_identical']}/{found[peer]['samples']}" if peer in found else "–"
                             for peer in PEERS))
        marks = {p["marker_instructions"] for p in found.values() if "marker_instructions" in p}
        row.append(_fmt(marks.pop()) if len(marks) == 1 else "–")
        rows.append(row)
    return rows


PEER_HEAD = ["model", "target", "edgeai", "LiteRT XNNPACK", "edgeai ÷ XNNPACK", "LiteRT builtin", "edgeai ÷ builtin",
             "onnxruntime", "edgeai ÷ onnxruntime", "same as desktop (X, B, O)", "markers subtracted"]
PEER_TEXT = ("Instructions per inference, all counted in the same emulator and run: qemu-aarch64 on the target's CPU "
             "with edgeai's icount plugin. The peers are the aarch64 wheels of the LiteRT and onnxruntime releases "
             "installed here, one thread, run by an arm64 Python (`edgeai bench --setup-peers` creates it); each "
             "inference call is bracketed by marker calls from Python, whose cost (counted in the same run) is "
             "subtracted. Worst input; a ratio below 1 means edgeai executes fewer instructions. \"Same as "
             "desktop\": inputs whose outputs equal the same runtime and kernels on this machine, bit for bit.")


DEVICE_HEAD = ["model", "target", "instructions", "est. cycles", "est. cycles/instr",
               "MVE instr / beats / est. cycles (overlap)", "MACs/instr", "est. latency ms", "est. energy mJ", "flash B",
               "weights B", "model code B", "library B", "arena B", "RAM B", "bit-exact"]
HOST_HEAD = ["model", "backend", "median ms", "edgeai speed-up", "bit-exact"]


def markdown(data: dict) -> str:
    def table(head, rows):
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
        return "\n".join(lines)

    results = data["results"]
    out = [f"# {data['suite']}: benchmark results", "",
           f"Run {data['created']} on {data['machine']['platform']}.", "",
           "## Targets (QEMU)", "",
           "Instructions: exact count per inference under QEMU (worst of the inputs). Cycles, latency and energy "
           "are estimates: on Cortex-M the plugin counts the instructions by class (loads, multiple transfers, "
           "MACs, taken branches...) and each target's cycle_model prices every class from the Technical "
           "Reference Manuals named in targets/<name>/target.json; on the Cortex-M55 MVE (Helium) instructions count by "
           "their beats (4 each, 2 per cycle) less the overlap of consecutive ones (SLOTHY's Cortex-M55 model, "
           "targets/qemu/mve_beats.h), shown beside the count; energy is cycles at the clock times the "
           "datasheet's active power. aarch64 targets are counted under Debian's dynamic qemu-aarch64 "
           "(package qemu-user) when it is installed, else run uncounted under qemu-aarch64-static. Sizes are as linked (the firmware ELF and its link map): weights and model code "
           "are the library's share, library = both, the library a user links measured alone.", "",
           table(DEVICE_HEAD, _device_rows(results)), ""]
    peer_rows = _peer_rows(results)
    if peer_rows:
        out += ["## aarch64 targets: edgeai and its peers", "", PEER_TEXT, "", table(PEER_HEAD, peer_rows), ""]
    out += ["## Host, side by side (single thread, backends interleaved in turning order: median, quartiles in brackets)", "",
           table(HOST_HEAD, _host_rows(results)), ""]
    if data.get("notes"):
        out += ["## Notes", ""] + [f"- {n}" for n in data["notes"]] + [""]
    errors = [r for r in results if r.get("status") != "ok"]
    if errors:
        out += ["## Errors", ""] + [f"- {r['model']} on {r['target']}: {r['error'].splitlines()[0]}" for r in errors]
    return "\n".join(out) + "\n"


def html(data: dict) -> str:
    results = [r for r in data["results"] if r.get("status") == "ok"]
    models = list(dict.fromkeys(r["model"] for r in data["results"]))
    targets = list(dict.fromkeys(r["target"] for r in results if r["target"] != "host"))

    def series(measure, pick=lambda r: True):
        table = {}
        for t in targets:
            row = {r["model"]: measure(r) for r in results if r["target"] == t and r["backend"] == "edgeai" and pick(r)}
            table[t] = [row.get(m) for m in models]
        return table

    charts = [
        bar_chart("Instructions per inference (QEMU, exact)", models, series(lambda r: r.get("instructions"))),
        bar_chart("Cycles per inference (estimate)", models,
                  series(lambda r: (r.get("estimate") or {}).get("cycles"))),
        bar_chart("Flash (firmware)", models, series(lambda r: r.get("flash_bytes")), " B"),
        bar_chart("RAM (firmware)", models, series(lambda r: r.get("ram_bytes")), " B"),
        bar_chart("Energy per inference (estimate)", models,
                  series(lambda r: (r.get("estimate") or {}).get("energy_mj")), " mJ"),
    ]
    backends = list(dict.fromkeys(r["backend"] for r in results if r["target"] == "host"))
    host = {b: [next((r.get("wall_ms") for r in results if r["target"] == "host" and r["backend"] == b
                      and r["model"] == m), None) for m in models] for b in backends}
    charts.append(bar_chart("Host latency, median (lower is better)", models, host, " ms"))

    def table(head, rows):
        cells = "".join(f"<th>{escape(h)}</th>" for h in head)
        body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
        return f"<table><tr>{cells}</tr>{body}</table>"

    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(data['suite'])}</title>"
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
            "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f4f4f4}</style></head><body>"
            f"<h1>{escape(data['suite'])}</h1><p>Run {escape(data['created'])} on "
            f"{escape(data['machine']['platform'])}. Latency and energy on targets are estimates.</p>"
            + "".join(f"<div>{c}</div>" for c in charts)
            + "<h2>Targets</h2>" + table(DEVICE_HEAD, _device_rows(data["results"]))
            + (f"<h2>aarch64 targets: edgeai and its peers</h2><p>{escape(PEER_TEXT)}</p>"
               + table(PEER_HEAD, _peer_rows(data["results"])) if _peer_rows(data["results"]) else "")
            + "".join(f"<p>{escape(n)}</p>" for n in data.get("notes", ()))
            + "<h2>Host</h2>" + table(HOST_HEAD, _host_rows(data["results"])) + "</body></html>\n")
