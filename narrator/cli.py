"""The ``narrator`` command. Each command is a thin adapter over the library or a flow.

Exit status: 0 ok; 1 finished, but some records were quarantined; 2 usage error or an input
that could not be read at all (other files of the dataset are still processed); 130 stopped
by Ctrl+C (everything committed so far is kept; rerun to resume).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any, TextIO

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from narrator import __version__
from narrator import progress as progress_hooks
from narrator.errors import NarratorError

EXIT_OK, EXIT_QUARANTINE, EXIT_FATAL, EXIT_INTERRUPTED = 0, 1, 2, 130

console = Console()
err_console = Console(stderr=True)

STAGE_LABELS = {"ingest": "Reading annotations", "generate": "Facts, VQA and captions",
                "export": "Exporting", "example": "Writing scenes"}


class RichReporter:
    """Shows each stage the library reports as a progress bar."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}

    def start(self, stage: str, total: int | None) -> None:
        label = STAGE_LABELS.get(stage, stage)
        if stage in self.tasks:
            self.progress.update(self.tasks[stage], total=total, completed=0)
        else:
            self.tasks[stage] = self.progress.add_task(label, total=total)

    def advance(self, stage: str, n: int = 1) -> None:
        if stage not in self.tasks:
            self.start(stage, None)
        self.progress.advance(self.tasks[stage], n)

    def status(self, stage: str, text: str) -> None:
        """A live note beside a stage's bar (LLM tokens and cost)."""
        if stage in self.tasks:
            label = STAGE_LABELS.get(stage, stage)
            self.progress.update(self.tasks[stage], description=f"{label} · {text}")

    def finish(self) -> None:
        for task_id in self.tasks.values():
            task = self.progress.tasks[task_id]
            self.progress.update(task_id, total=task.completed)


@contextmanager
def progress_bars(out: Console) -> Iterator[RichReporter]:
    bars = Progress(TextColumn("{task.description:<26}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=out, transient=False)
    reporter = RichReporter(bars)
    progress_hooks.set_reporter(reporter)
    try:
        with bars:
            yield reporter
            reporter.finish()
    finally:
        progress_hooks.set_reporter(None)


def quiet_prefect(verbose: bool, log_file: Path) -> None:
    """Keep Prefect's own output (server start, task states, shutdown tracebacks) off the
    terminal unless -v: its settings go to WARNING and everything written to the process's
    stderr from here on goes to ``log_file``. narrator's own messages use ``err_console``,
    bound to the terminal's stderr before the redirect.
    """
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if verbose:
        return
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_LOGGING_SERVER_LEVEL", "CRITICAL")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")
    global err_console
    log_file.parent.mkdir(parents=True, exist_ok=True)
    terminal: TextIO = os.fdopen(os.dup(2), "w", buffering=1)
    err_console = Console(file=terminal, stderr=True)
    fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    sys.stderr.flush()
    os.dup2(fd, 2)
    os.close(fd)


def fail(message: str, code: int = EXIT_FATAL) -> None:
    err_console.print(f"[bold red]Error:[/] {message}", highlight=False, soft_wrap=True)
    sys.exit(code)


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn NarratorError into ``Error: ...`` (exit 2) and Ctrl+C into exit 130."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except NarratorError as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            fail("interrupted; everything committed so far is kept, rerun to resume",
                 EXIT_INTERRUPTED)
        except Exception as exc:  # a bug: say so in one line; -v shows the traceback
            if click.get_current_context().find_root().obj.get("verbose"):
                raise
            fail(f"internal error ({type(exc).__name__}: {exc}); rerun with -v for details "
                 "and report it")

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="narrator")
@click.option("-v", "--verbose", is_flag=True, help="Show narrator's and Prefect's logs.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Build checked SAR image-text datasets (VQA pairs and captions) from annotations.

    \b
    Quick start:
      narrator example example_data
      narrator generate example_data --db narrator.duckdb
      narrator export --db narrator.duckdb --format jsonl --out texts.jsonl
    """
    ctx.obj = {"verbose": verbose}
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


@cli.command()
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--scenes", default=20, show_default=True, help="Number of scenes.")
@click.option("--size", default=512, show_default=True, help="Scene width and height (pixels).")
@click.option("--seed", default=7, show_default=True, help="Random seed.")
@handle_errors
def example(out_dir: Path, scenes: int, size: int, seed: int) -> None:
    """Write a small synthetic SAR dataset (GeoTIFFs, COCO boxes, land-cover masks).

    Example: narrator example example_data
    """
    from narrator.example import write_example

    if scenes < 1 or size < 64:
        raise click.UsageError("--scenes must be >= 1 and --size >= 64")
    with progress_bars(console) as reporter:
        reporter.start("example", scenes)
        write_example(out_dir, scenes, size, seed, on_scene=lambda _i: reporter.advance("example"))
    console.print(f"Wrote {scenes} scenes to {out_dir}")


def _summary_table(summary: dict[str, Any]) -> Table:
    table = Table(title="narrator generate", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, key in (("scenes", "scenes"), ("processed now", "processed_now"),
                       ("objects", "objects"), ("regions", "regions"),
                       ("QA pairs", "qa_pairs"), ("captions", "captions"),
                       ("quarantined", "quarantined")):
        table.add_row(label, f"{summary.get(key, 0):,}")
    for task, n in summary.get("tasks", {}).items():
        table.add_row(f"  {task}", f"{n:,}")
    table.add_row("seconds", f"{summary.get('seconds', 0):.1f}")
    return table


def llm_summary_rows(llm: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Summary-table rows for a run's LLM statistics (narrator.llm.stats.LLMStats.summary)."""
    if not llm:
        return []
    cost = llm.get("cost_usd")
    return [("LLM calls", f"{llm['calls']:,}"), ("  from cache", f"{llm['cached']:,}"),
            ("  failed", f"{llm['failed'] + llm['errors']:,}"),
            ("  HTTP requests", f"{llm['http_requests']:,}"),
            ("  tokens (prompt + completion)",
             f"{llm['prompt_tokens']:,} + {llm['completion_tokens']:,}"),
            ("  cost (USD)", f"{cost:,.4f}" if cost is not None else "n/a (no price)")]


@cli.command()
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option("--db", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="DuckDB file to write (created if missing).")
@click.option("--format", "fmt", default=None, help="Annotation format (default: detect).")
@click.option("--images", default=None, type=click.Path(path_type=Path),
              help="Folder of the images, if not where the dataset config says.")
@click.option("--llm", default="rules", show_default=True,
              help="Text generator: rules (no LLM).")
@click.option("--seed", default=0, show_default=True, help="Seed for template choices.")
@click.option("--style", default="generic", show_default=True,
              type=click.Choice(["generic", "sarlang", "sarchat"]), help="Phrasing style.")
@click.option("--shard-size", default=256, show_default=True, help="Scenes per shard task.")
@click.pass_context
@handle_errors
def generate(ctx: click.Context, dataset: Path, db: Path, fmt: str | None, images: Path | None,
             llm: str, seed: int, style: str, shard_size: int) -> None:
    """Ingest DATASET and build VQA pairs and captions into the DuckDB file --db.

    Reruns skip scenes already done with the same settings, so an interrupted run resumes.

    Example: narrator generate example_data --db narrator.duckdb
    """
    if llm != "rules":
        raise click.UsageError("only --llm rules is available in this version")
    if shard_size < 1:
        raise click.UsageError("--shard-size must be >= 1")
    log_file = db.with_name(db.name + ".log")
    quiet_prefect(ctx.obj["verbose"], log_file)
    t0 = time.perf_counter()
    from flows.generate import generate_flow  # Prefect is imported only here

    with progress_bars(console):
        summary = generate_flow(str(dataset), str(db), fmt=fmt,
                                images=str(images) if images else None, llm=llm, seed=seed,
                                style=style, shard_size=shard_size)
    summary["seconds"] = time.perf_counter() - t0
    console.print(_summary_table(summary))
    for message in summary["file_errors"]:
        err_console.print(f"[bold red]Error:[/] {message}", highlight=False, soft_wrap=True)
    if summary["file_errors"]:
        sys.exit(EXIT_FATAL)
    if summary["quarantined"]:
        console.print(f"{summary['quarantined']} records quarantined: see the quarantine "
                      f"table in {db}")
        sys.exit(EXIT_QUARANTINE)


@cli.command()
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option("--db", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="DuckDB file to write (created if missing).")
@click.option("--format", "fmt", default=None, help="Annotation format (default: detect).")
@click.option("--images", default=None, type=click.Path(path_type=Path),
              help="Folder of the images, if not where the dataset config says.")
@handle_errors
def ingest(dataset: Path, db: Path, fmt: str | None, images: Path | None) -> None:
    """Read DATASET's annotations and metadata into --db, without generating text.

    Example: narrator ingest example_data --db narrator.duckdb
    """
    from narrator.ingest import load_config, read_dataset
    from narrator.store import Store

    config = load_config(dataset, fmt, images)
    with progress_bars(console) as reporter:
        reporter.start("ingest", None)
        result = read_dataset(config, on_source=lambda _s, n: reporter.advance("ingest", n))
    with Store(db) as store:
        store.write_ingest(config.name, result.bundles, result.quarantine)
    table = Table(title=f"narrator ingest ({result.format})")
    for col in ("source", "scenes", "objects", "regions", "quarantined"):
        table.add_column(col, justify="left" if col == "source" else "right")
    for s in result.stats:
        table.add_row(s.source, str(s.scenes), str(s.objects), str(s.regions),
                      str(s.quarantined))
    console.print(table)
    for s in result.stats:
        for warning in s.warnings:
            err_console.print(f"Warning: {warning}", highlight=False, soft_wrap=True)
    for exc in result.file_errors:
        err_console.print(f"[bold red]Error:[/] {exc}", highlight=False, soft_wrap=True)
    if result.file_errors:
        sys.exit(EXIT_FATAL)
    if result.quarantine:
        sys.exit(EXIT_QUARANTINE)


@cli.command()
@click.option("--db", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="DuckDB file made by narrator generate.")
@click.option("--format", "fmt", default="jsonl", show_default=True,
              type=click.Choice(["jsonl"]), help="Output format.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="File to write.")
@handle_errors
def export(db: Path, fmt: str, out: Path) -> None:
    """Write the texts in --db out as a training file.

    Example: narrator export --db narrator.duckdb --format jsonl --out texts.jsonl
    """
    from narrator.export import export_jsonl
    from narrator.store import Store

    with Store(db, read_only=True) as store, progress_bars(console) as reporter:
        n = export_jsonl(store, out, on_rows=lambda k: reporter.advance("export", k),
                         on_total=lambda t: reporter.start("export", t))
    console.print(f"Wrote {n:,} records to {out}")


STAGE_LABELS["llm"] = "LLM calls"


@cli.command("llm-check")
@click.option("--llm", "spec", required=True,
              help="openai:MODEL (endpoint from OPENAI_BASE_URL) or vllm:MODEL.")
@click.option("--image", default=None, type=click.Path(exists=True, dir_okay=False,
                                                       path_type=Path),
              help="A SAR image to send as a quicklook (checks image input of a VLM).")
@handle_errors
def llm_check(spec: str, image: Path | None) -> None:
    """Send one JSON-schema request to an LLM and show the reply, tokens and latency.

    Checks the endpoint, key, model name, structured output and (with --image) image input
    before a long run. Exit status 2 if the call fails.

    Example: narrator llm-check --llm openai:Qwen/Qwen2.5-VL-7B-Instruct --image scene.tif
    """
    from narrator.llm.check import check_llm

    result, stats = check_llm(spec, image)
    table = Table(title=f"narrator llm-check ({spec})", show_header=False)
    for label, value in (("status", result.status), ("reply", result.text or ""),
                         ("error", result.error or ""), ("finish reason",
                                                          str(result.finish_reason)),
                         ("latency (s)", f"{result.latency_s:.2f}"),
                         ("HTTP attempts", str(result.http_attempts))):
        table.add_row(label, value)
    for label, value in llm_summary_rows(stats)[4:]:
        table.add_row(label.strip(), value)
    console.print(table)
    if not result.ok:
        sys.exit(EXIT_FATAL)


def main() -> None:
    cli(prog_name="narrator")


if __name__ == "__main__":
    main()
