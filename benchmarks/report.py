"""Tables of the children's results: timings with ratios, peak RSS, where zarrkit is behind."""

from __future__ import annotations

import statistics
from typing import Any

from benchmarks.workloads import OPS

REFERENCE, LIMIT = "zarrkit", "limit"


def medians(result: dict[str, Any]) -> None:
    """Add ``median`` (wall) and ``cpu_median`` to every successful op of one child's
    result, in place."""
    for op in result["ops"].values():
        if op["status"] == "ok":
            op["median"] = statistics.median(op["times"])
            op["cpu_median"] = statistics.median(op["cpu_times"])


def _op(results: list[dict[str, Any]], wl: str, op: str, peer: str) -> dict[str, Any] | None:
    for r in results:
        if r["workload"] == wl and r["peer"] == peer:
            return r["ops"].get(op)
    return None


def _rows(results: list[dict[str, Any]]) -> list[tuple[str, str]]:
    seen: dict[tuple[str, str], None] = {}
    for r in results:
        for op in r["ops"]:
            seen[(r["workload"], op)] = None
    return list(seen)


def _cell(results: list[dict[str, Any]], wl: str, op: str, peer: str, markdown: bool) -> str:
    entry = _op(results, wl, op, peer)
    if entry is None:
        return ""
    if entry["status"] == "wrong":
        return "WRONG DATA"
    if entry["status"] != "ok":
        text = entry["status"] if entry["status"] == "n/a" else f"error: {entry['message']}"
        return text if markdown else text[:24]
    ratios = []
    for base, tag in ((REFERENCE, "zk"), (LIMIT, "L")):
        other = _op(results, wl, op, base)
        if base != peer and other is not None and other["status"] == "ok":
            ratios.append(f"x{entry['median'] / other['median']:.2f} {tag}")
    sep = "<br>" if markdown else " "
    return f"{entry['median']:.3f}" + (sep + " ".join(ratios) if ratios else "")


def _label(results: list[dict[str, Any]], wl: str, op: str, repeat: int) -> str:
    runs = [
        len(r["ops"][op]["times"])
        for r in results
        if r["workload"] == wl and "times" in r["ops"].get(op, {})
    ]
    fewer = min(runs, default=repeat)
    return f"{wl} {OPS[op]}" + (f" ({fewer} runs)" if fewer < repeat else "")


def timing_table(
    results: list[dict[str, Any]], peers: dict[str, str], repeat: int, *, markdown: bool
) -> str:
    header = ["workload / op", *peers.values()]
    body = [
        [_label(results, wl, op, repeat), *(_cell(results, wl, op, p, markdown) for p in peers)]
        for wl, op in _rows(results)
    ]
    return render([header, *body], markdown)


def rss_table(results: list[dict[str, Any]], peers: dict[str, str], *, markdown: bool) -> str:
    workloads = list(dict.fromkeys(r["workload"] for r in results))
    body = []
    for wl in workloads:
        row = [wl]
        for peer in peers:
            found = [r for r in results if r["workload"] == wl and r["peer"] == peer]
            rss = found[0].get("peak_rss_mb") if found else None
            row.append("" if rss is None else f"{rss:.0f}")
        body.append(row)
    return render([["peak RSS (MiB)", *peers.values()], *body], markdown)


def behind(results: list[dict[str, Any]], peers: dict[str, str]) -> list[str]:
    """One line per (workload, op) where a peer (not the limit) beat zarrkit, or zarrkit failed."""
    lines = []
    for wl, op in _rows(results):
        own = _op(results, wl, op, REFERENCE)
        rivals = [
            (e["median"], peers[p])
            for p in peers
            if p not in (REFERENCE, LIMIT)
            and (e := _op(results, wl, op, p))
            and e["status"] == "ok"
        ]
        if own is None or not rivals:
            continue
        best, name = min(rivals)
        where = f"{wl} {OPS[op]}"
        if own["status"] != "ok":
            message = own.get("message", "")
            lines.append(f"{where}: zarrkit {own['status']} {message}; {name} {best:.3f} s")
        elif own["median"] > best:
            ratio = own["median"] / best
            lines.append(
                f"{where}: zarrkit {own['median']:.3f} s, {name} {best:.3f} s (x{ratio:.2f})"
            )
    return lines


def render(rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
        return "\n".join([lines[0], "|" + "---|" * len(rows[0]), *lines[1:]])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )
