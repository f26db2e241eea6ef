"""JSON, Markdown and PNG output of bench/compare."""

import json
import math
import os

from .common import fmt_seconds

# The targets the numbers are held to: (kind, task, playaug contender, peer contender, N, ratio).
TARGETS = [
    ("cpu", "fit", "playaug fit_pca", "numpy np.cov + np.linalg.eigh", 1_000_000, 3.0),
    ("cpu", "fit", "playaug fit_pca", "scikit-learn PCA", 1_000_000, 5.0),
    ("cpu", "read", "playaug read_csv", "pandas read_csv + json.loads", 1_000_000, 3.0),
    ("cpu", "augment", "playaug augment (command)", "pandas + numpy pipeline", 1_000_000, 10.0),
]


def fmt_n(n):
    exp = math.floor(math.log10(n)) if n > 0 else 0
    mant = n / 10 ** exp
    if abs(mant - round(mant)) < 1e-9:
        m = int(round(mant))
        return f"1e{exp}" if m == 1 else f"{m}e{exp}"
    return f"{mant:.1f}e{exp}"


def _find(rows, task, n, prefix):
    for r in rows:
        if r["task"] == task and r["n"] == n and r["contender"].startswith(prefix):
            return r
    return None


def _closest(ns, target):
    return min(ns, key=lambda n: abs(math.log10(n) - math.log10(target))) if ns else None


def evaluate_targets(result):
    out = []
    rows = result["rows"]
    for kind, task, pa, peer, n_target, ratio in TARGETS:
        if kind != result["kind"]:
            continue
        ns = sorted({r["n"] for r in rows if r["task"] == task})
        n = n_target if n_target in ns else _closest(ns, n_target)
        if n is None:
            continue
        a, b = _find(rows, task, n, pa), _find(rows, task, n, peer)
        if not a or not b:
            continue
        got = b["median"] / a["median"]
        out.append({
            "task": task, "n": n, "playaug": a["contender"], "peer": b["contender"], "target_ratio": ratio,
            "ratio": round(got, 2), "met": got >= ratio,
            "playaug_median": a["median"], "peer_median": b["median"],
            "note": "" if n == n_target else f"N = {fmt_n(n_target)} was not run; nearest size used",
        })
    return out


def write_json(result, path):
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")


def _cell(r):
    if r is None:
        return "-"
    if r.get("skipped"):
        return "skipped"
    return f"{fmt_seconds(r['median'])} ({fmt_seconds(r['min'])} – {fmt_seconds(r['max'])})"


def _machine_lines(result):
    m = result["machine"]
    lines = []
    if result["kind"] == "gpu" and not result.get("gpu"):
        lines.append(f"- Host: {m['cpu']}, {m['cores']} cores; no GPU was used")
    elif result["kind"] == "gpu":
        g = result.get("gpu", {})
        lines.append(f"- Card: **{g.get('name', '?')}** ({g.get('sm_count', '?')} SMs, "
                     f"{(g.get('l2_bytes') or 0) / 2**20:.0f} MiB L2, "
                     f"{(g.get('memory_bytes') or 0) / 2**30:.0f} GiB), driver {g.get('driver', '?')}, "
                     f"CUDA runtime {g.get('runtime_version', '?')}")
        lines.append(f"- Host: {m['cpu']}, {m['cores']} cores")
    else:
        lines.append(f"- CPU: **{m['cpu']}**, {m['cores']} cores"
                     f"{' (' + ', '.join(m['simd']) + ')' if m.get('simd') else ''}, {m.get('memory_gb')} GB memory, "
                     f"{m['os']}")
        lines.append(f"- Load average (1, 5, 15 min) before: {result.get('load_before')}, "
                     f"after: {result.get('load_after')}")
    dirty = result.get("dirty")
    lines.append(f"- Commit: `{result['commit']}`{' (working tree differs)' if dirty else ''}; "
                 f"date {result['date']}")
    if result.get("build_note"):
        lines.append(f"- Build: {result['build_note']}")
    v = result.get("versions", {})
    lines.append("- Versions: " + ", ".join(f"{k} {val}" for k, val in v.items() if val))
    p = result["params"]
    lines.append(f"- Repetitions per contender: {p.get('reps_desc')}; contenders alternate round by round; "
                 f"median (min – max)")
    return lines


def write_markdown(result, path, title, task_titles, notes=()):
    rows = result["rows"]
    tasks = [t for t in result["params"]["tasks"] if any(r["task"] == t for r in rows)]
    lines = [f"# {title}", ""]
    lines += _machine_lines(result)
    lines.append("")
    for key, label in (("skipped", "Skipped"), ("playaug_skipped", "playaug rows skipped"),
                       ("cupy_skipped", "CuPy rows skipped")):
        if result.get(key):
            lines += [f"**{label}:** {result[key]}", ""]
    for s in result.get("skipped_sizes", []):
        lines.append(f"- N = {fmt_n(s['n'])}{' (' + s['task'] + ')' if s.get('task') else ''} skipped: {s['reason']}")
    if result.get("skipped_sizes"):
        lines.append("")
    targets = result.get("targets") or []
    if targets:
        lines += ["## Targets", "", "| task | N | playaug | peer | speed-up | target | met |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for t in targets:
            lines.append(f"| {t['task']} | {fmt_n(t['n'])}{' (nearest size run)' if t.get('note') else ''} | {t['playaug']}: {fmt_seconds(t['playaug_median'])} | "
                         f"{t['peer']}: {fmt_seconds(t['peer_median'])} | {t['ratio']:.2f}x | "
                         f">= {t['target_ratio']:.0f}x | {'yes' if t['met'] else '**no**'} |")
        lines.append("")
    for task in tasks:
        trows = [r for r in rows if r["task"] == task]
        ns = sorted({r["n"] for r in trows})
        names = []
        for r in trows:
            if r["contender"] not in names:
                names.append(r["contender"])
        lines += [f"## {task_titles.get(task, task)}", ""]
        extra = trows[0]
        if "queries" in extra:
            if result["kind"] == "gpu":
                lines.append(f"{extra['queries']} queries against a catalog of N tracks.")
            else:
                lines.append(f"{extra['queries']} queries against a catalog of N - {extra['queries']} songs.")
            lines.append("")
        lines.append("| contender | measures | " + " | ".join(f"N = {fmt_n(n)}" for n in ns) + " |")
        lines.append("| --- | --- | " + " | ".join("---" for _ in ns) + " |")
        for name in names:
            kind = next(r["kind"] for r in trows if r["contender"] == name)
            cells = [_cell(next((r for r in trows if r["contender"] == name and r["n"] == n), None)) for n in ns]
            lines.append(f"| {name} | {kind} | " + " | ".join(cells) + " |")
        if any("copy_frac" in r for r in trows):
            lines.append("")
            lines.append("Fraction of the device-to-device copy of the same bytes (copy time / row time):")
            lines.append("")
            lines.append("| contender | " + " | ".join(f"N = {fmt_n(n)}" for n in ns) + " |")
            lines.append("| --- | " + " | ".join("---" for _ in ns) + " |")
            for name in names:
                cells = []
                for n in ns:
                    r = next((r for r in trows if r["contender"] == name and r["n"] == n), None)
                    cells.append(f"{r['copy_frac']:.2f}" if r and r.get("copy_frac") is not None else "-")
                lines.append(f"| {name} | " + " | ".join(cells) + " |")
        for key, label in (("GBps", "GB/s (bytes read + written)"), ("pairs_per_s", "query x track pairs per second")):
            if any(r.get(key) for r in trows):
                lines.append("")
                lines.append(f"{label}:")
                lines.append("")
                lines.append("| contender | " + " | ".join(f"N = {fmt_n(n)}" for n in ns) + " |")
                lines.append("| --- | " + " | ".join("---" for _ in ns) + " |")
                for name in names:
                    cells = []
                    for n in ns:
                        r = next((r for r in trows if r["contender"] == name and r["n"] == n), None)
                        cells.append(f"{r[key]:.3g}" if r and r.get(key) else "-")
                    lines.append(f"| {name} | " + " | ".join(cells) + " |")
        pa_names = [nm for nm in names if next(r for r in trows if r["contender"] == nm)["playaug"]]
        peers = [nm for nm in names if nm not in pa_names]
        if pa_names and peers:
            pa = pa_names[0]
            lines.append("")
            lines.append(f"Speed-up of {pa} (peer median / playaug median):")
            lines.append("")
            lines.append("| peer | " + " | ".join(f"N = {fmt_n(n)}" for n in ns) + " |")
            lines.append("| --- | " + " | ".join("---" for _ in ns) + " |")
            for peer in peers:
                cells = []
                for n in ns:
                    a = next((r for r in trows if r["contender"] == pa and r["n"] == n and not r.get("skipped")), None)
                    b = next((r for r in trows if r["contender"] == peer and r["n"] == n and not r.get("skipped")),
                             None)
                    cells.append(f"{b['median'] / a['median']:.1f}x" if a and b else "-")
                lines.append(f"| {peer} | " + " | ".join(cells) + " |")
        checks = [(r["n"], r["check"]) for r in trows if r.get("check")]
        notes_t = []
        for r in trows:
            if r.get("note") and (r["contender"], r["note"]) not in notes_t:
                notes_t.append((r["contender"], r["note"]))
        if checks or notes_t:
            lines.append("")
        for name, note in notes_t:
            lines.append(f"- {name}: {note}")
        for n, c in checks:
            lines.append(f"- check at N = {fmt_n(n)}: {c}")
        skipped = [(r["n"], r["contender"], r.get("reason", "")) for r in trows if r.get("skipped")]
        for n, name, why in skipped:
            lines.append(f"- {name} at N = {fmt_n(n)} skipped: {why}")
        lines.append("")
    for note in notes:
        lines.append(note)
    with open(path, "w") as f:
        f.write("\n".join(lines).rstrip() + "\n")


def write_plots(result, out_dir, task_titles, stem=None):
    """Time against N (log-log) per task and contender; on the GPU also the fraction of the
    copy ceiling. Returns the files written; none when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    rows = [r for r in result["rows"] if not r.get("skipped")]
    tasks = [t for t in result["params"]["tasks"] if any(r["task"] == t for r in rows)]
    if not tasks:
        return []
    kind = result["kind"]
    files = []
    cols = 2 if len(tasks) > 1 else 1
    nrows = (len(tasks) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(6.2 * cols, 4.2 * nrows), squeeze=False)
    for ax, task in zip(axes.flat, tasks):
        trows = [r for r in rows if r["task"] == task]
        names = []
        for r in trows:
            if r["contender"] not in names:
                names.append(r["contender"])
        for name in names:
            pts = sorted((r["n"], r["median"], r["min"], r["max"]) for r in trows if r["contender"] == name)
            ns = [p[0] for p in pts]
            med = [p[1] for p in pts]
            err = [[p[1] - p[2] for p in pts], [p[3] - p[1] for p in pts]]
            is_pa = next(r["playaug"] for r in trows if r["contender"] == name)
            ax.errorbar(ns, med, yerr=err, marker="o" if is_pa else "s", linewidth=2.2 if is_pa else 1.2,
                        capsize=3, label=name)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("N (songs)" if task != "nn" or kind == "cpu" else "catalog rows M")
        ax.set_ylabel("seconds (median, min-max)")
        ax.set_title(task_titles.get(task, task), fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(tasks):]:
        ax.axis("off")
    card = result.get("gpu", {}).get("name") if kind == "gpu" else result["machine"]["cpu"]
    fig.suptitle(f"playaug vs peers, {kind.upper()}: {card}, commit {result['commit'][:10]}", fontsize=11)
    fig.tight_layout()
    stem = stem or kind
    path = os.path.join(out_dir, f"{stem}.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    files.append(path)

    if kind == "gpu":
        frac = [r for r in rows if r.get("copy_frac") is not None and r["task"] != "copy"]
        if frac:
            big = max(r["n"] for r in frac)
            sel = [r for r in frac if r["n"] == big]
            fig, ax = plt.subplots(figsize=(9, 0.35 * len(sel) + 1.5))
            labels = [f"{r['task']}: {r['contender']}" for r in sel]
            vals = [r["copy_frac"] for r in sel]
            colors = ["tab:blue" if r["playaug"] else "tab:gray" for r in sel]
            ax.barh(range(len(sel)), vals, color=colors)
            ax.set_yticks(range(len(sel)))
            ax.set_yticklabels(labels, fontsize=7)
            ax.invert_yaxis()
            ax.axvline(1.0, color="k", linewidth=0.8)
            ax.set_xlabel("copy time of the same bytes / row time (1.0 = device-to-device copy speed)")
            ax.set_title(f"Fraction of the copy ceiling at N = {fmt_n(big)}: {result.get('gpu', {}).get('name')}",
                         fontsize=10)
            fig.tight_layout()
            path = os.path.join(out_dir, f"{stem}-copy-fraction.png")
            fig.savefig(path, dpi=110)
            plt.close(fig)
            files.append(path)
    return files
