"""docs/performance.md's `gr-bench bench` section, generated from a shipped `gr-bench bench --json`
(results/bench/bench.json): each phase at each precision against that precision's gemm, the
bf16 speed-up per phase, and the workers check, with the command, code and CPU that gave them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from gr_bench.report.markdown import md_table


def bench_text(path: Path) -> str:
    if not path.is_file():
        return "No `gr-bench bench --json` output is shipped (results/bench/bench.json)."
    out = json.loads(path.read_text())
    prov = out.get("provenance") or {}
    gemm = ", ".join(f"{p} {v:.0f}" for p, v in out["gemm_1024_gflops"].items())
    head = (f"`{prov.get('command', 'gr-bench bench --json')}` at commit {str(prov.get('git_sha', ''))[:7] or '?'} "
            f"on {prov.get('cpu_model', '?')} ({prov.get('cpu_count', '?')} cores), "
            f"{str(prov.get('started_utc', ''))[:10]}; {out['dataset']}, {out['threads']} thread(s), batch "
            f"{out['batch_size']}, VAE batch {out['vae_batch_size']}; from results/bench/bench.json. "
            f"The 1024³ gemm on one thread, GFLOP/s: {gemm}. Each phase's GFLOP/s is set beside the gemm of its "
            "own arithmetic (evaluation runs in fp32 in both runs, so beside fp32's).\n\n")
    rows = []
    for precision, fig in out["by_precision"].items():
        for phase, f in fig["phases"].items():
            rows.append({"precision": precision, "phase": phase, "seconds": f"{f['seconds']:.1f}",
                         "share of run %": f"{100 * f['share_of_run']:.1f}",
                         "samples/s": "—" if f["samples_per_s"] is None else f"{f['samples_per_s']:,.0f}",
                         "GFLOP/s": f"{f['gflops']:.1f}", "% of same-shape gemm": f"{f['pct_of_sgemm']:.0f}",
                         "% of 1024³ gemm": f"{f['pct_of_sgemm_1024']:.0f}"})
    text = head + md_table(pd.DataFrame(rows)).rstrip()
    accs = ", ".join(f"{p} {100 * f['final_avg_acc']:.1f}%" for p, f in out["by_precision"].items())
    text += f"\n\nFinal average accuracy of these single runs (one seed each, not a finding): {accs}."
    if out.get("bf16_speedup"):
        text += (" Seconds fp32 / bf16 per phase: " + ", ".join(
            f"{k} {v:.2f}x" for k, v in out["bf16_speedup"].items() if v is not None) + ".")
    w = out.get("workers")
    if w:
        trained = " and ".join(str(v) for v in w["runs_trained"].values())
        reused = " and ".join(str(v) for v in w["reused_runs"].values())
        text += (f" Workers check: {w['trials']} equal trials with 1 and with 2 workers ({trained} runs trained, "
                 f"{reused} reused from a cache), {w['wall_1_worker_s']:.1f} s with 1 worker and "
                 f"{w['wall_2_workers_s']:.1f} s with 2: "
                 + (f"speed-up {w['workers_speedup']:.2f}x." if w.get("workers_speedup") else "no speed-up given."))
    return text
