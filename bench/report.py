"""Prints the figures and draws latency and throughput over the run (PNG)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from rich.console import Console
from rich.table import Table


def draw_png(result: dict, path) -> None:
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    series = result["series"]
    if series["events_per_second"]:
        xs, ys = zip(*series["events_per_second"])
        top.plot(xs, ys, color="tab:blue")
    top.set_ylabel("events / s")
    top.set_title(f"Continuum end to end — {result['participants']} participants")
    if series["latency"]:
        xs, ys = zip(*series["latency"])
        bottom.scatter(xs, ys, s=2, color="tab:red")
    bottom.set_ylabel("AssessmentCompleted → SessionsScheduled (s)")
    bottom.set_xlabel("seconds since start")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def print_summary(result: dict) -> None:
    t = Table(title="Continuum end-to-end benchmark", show_header=False)
    lat = result["latency_assessment_to_sessions_scheduled_s"]
    base = result["kafka_baseline"]
    rows = [
        ("machine", result["machine"]),
        ("participants (admitted → scheduled)",
         f"{result['participants']} ({result['admitted']} → {result['reached_sessions_scheduled']})"),
        ("through aftercare", f"{result['reached_aftercare']} of {result['to_aftercare']}"),
        ("participants / s end to end", str(result["participants_per_s"])),
        ("events / s", f"{result['events_per_s']} ({result['events']} events)"),
        ("latency p50 / p95 / p99 (s)", f"{lat['p50']} / {lat['p95']} / {lat['p99']}"),
        ("peak RSS MiB", ", ".join(f"{k} {v}" for k, v in result["peak_rss_mib"].items())),
        ("CPU s (start to end)", ", ".join(f"{k} {v}" for k, v in result.get("cpu_s", {}).items())),
        ("raw Kafka baseline msgs/s (produce+consume)", f"{base['produce_and_consume_per_s']} "
         f"(produce {base['produce_per_s']}, consume {base['consume_per_s']}, {base['message_bytes']} B)"),
        ("system / baseline", str(result["system_vs_baseline"])),
        ("duplicate plans", str(result["duplicate_plans"])),
        ("participant reads during the run p50 / p99 / max (ms)",
         "{p50_ms} / {p99_ms} / {max_ms} ({reads} reads, {failures} failed; objective p99 {slo_p99_ms} ms)".format(
             **result["participant_reads_during_run"]) if "participant_reads_during_run" in result else "-"),
    ]
    for k, v in rows:
        t.add_row(k, v)
    Console().print(t)
