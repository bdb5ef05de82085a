"""The ``narrator`` command. Each command is a thin adapter over the library or a flow.

Exit status: 0 ok; 1 finished, but some records were quarantined; 2 usage error or an input
that could not be read at all (other files of the dataset are still processed); 130 stopped
by Ctrl+C (everything committed so far is kept; rerun to resume).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

# Arrow's buffers from the C library's allocator, not its bundled jemalloc, which keeps what
# was freed: 35 MB less in each worker process and the same seconds at 100k scenes (one
# trial with benchmarks/scale.py). Set before pyarrow is imported, here and in the worker
# processes (they inherit it); a user's own setting wins.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from narrator import __version__
from narrator import progress as progress_hooks
from narrator.errors import ConfigError, NarratorError
from narrator.signals import sigterm_interrupts

if TYPE_CHECKING:
    from narrator.store import Store

EXIT_OK, EXIT_QUARANTINE, EXIT_FATAL, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_TERMINATED = 143  # 128 + SIGTERM

console = Console()
err_console = Console(stderr=True)

STAGE_LABELS = {"ingest": "Reading annotations", "generate": "Facts, VQA and captions",
                "export": "Exporting", "example": "Writing scenes",
                "screen": "Screening captions"}


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
    terminal unless -v: everything written to the process's stderr from here on goes to
    ``log_file`` (flow run logs still reach the Prefect API and UI). narrator's own messages
    use ``err_console``, bound to the terminal's stderr before the redirect.
    """
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if verbose:
        return
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
    global err_console
    log_file.parent.mkdir(parents=True, exist_ok=True)
    terminal: TextIO = os.fdopen(os.dup(2), "w", buffering=1)
    err_console = Console(file=terminal, stderr=True)
    fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    sys.stderr.flush()
    os.dup2(fd, 2)
    os.close(fd)


def print_error(message: object, prefix: str = "[bold red]Error:[/]") -> None:
    """One ``Error: ...`` line; the message (paths, names, values) is printed verbatim, never
    read as rich markup (``[x]``) or emoji codes (``:m:``)."""
    err_console.print(f"{prefix} {escape(str(message))}", highlight=False, soft_wrap=True,
                      emoji=False)


def fail(message: str, code: int = EXIT_FATAL) -> None:
    print_error(message)
    sys.exit(code)


#: set when SIGTERM stopped the command (handled like Ctrl+C: in-flight LLM requests cancelled,
#: committed work kept, Prefect's temporary server stopped), so the exit status is 143, not 130
_terminated = threading.Event()


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn NarratorError into ``Error: ...`` (exit 2) and Ctrl+C into exit 130."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with sigterm_interrupts(_terminated):
                return func(*args, **kwargs)
        except NarratorError as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            terminated = _terminated.is_set()
            fail(("terminated" if terminated else "interrupted") + "; everything committed "
                 "so far is kept, rerun to resume",
                 EXIT_TERMINATED if terminated else EXIT_INTERRUPTED)
        except Exception as exc:  # a bug: say so in one line; -v shows the traceback
            if click.get_current_context().find_root().obj.get("verbose"):
                raise
            if type(exc).__name__ == "OutOfMemoryException":  # DuckDB's (not imported here)
                from narrator.store import DUCKDB_MEMORY

                memory = os.environ.get("NARRATOR_DUCKDB_MEMORY")
                fail(f"DuckDB ran out of memory: {str(exc).splitlines()[0]}; "
                     + (f"NARRATOR_DUCKDB_MEMORY={memory} is too low for this run; raise it"
                        if memory else "free some memory or set NARRATOR_DUCKDB_MEMORY higher "
                        f"(default {DUCKDB_MEMORY})") + "; everything committed so far is kept")
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


def _balance(yes_no: dict[str, Any]) -> str:
    """``"1,200 / 1,200 (50.0% yes)"``: the yes/no balance of presence-style answers."""
    share = yes_no.get("yes_share")
    pct = f" ({share * 100:.1f}% yes)" if share is not None else ""
    return f"{yes_no.get('yes', 0):,} / {yes_no.get('no', 0):,}{pct}"


def generate_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The click options of every GenerateOptions field (narrator.generate.options): one
    definition for ``generate`` and ``deploy``. The command gets them as ``options``."""
    from dataclasses import MISSING

    from narrator.generate.options import option_fields

    decorators = []
    for f in option_fields():
        meta = f.metadata
        flag = meta.get("flag") or "--" + f.name.replace("_", "-")
        default = f.default if f.default is not MISSING else None
        kwargs: dict[str, Any] = {"help": meta["help"]}
        if meta.get("invert"):
            flag, kwargs["is_flag"] = "--no-" + flag[2:], True
        elif isinstance(default, bool):
            kwargs["is_flag"] = True
        elif meta.get("multiple"):
            kwargs |= {"multiple": True, "metavar": meta.get("metavar")}
        else:
            kwargs |= {"default": default, "show_default": default is not None,
                       "type": click.Choice(meta["choices"]) if "choices" in meta
                       else int if f.type in ("int", "int | None") else None}
        decorators.append(click.option(flag, f"opt_{f.name}", **kwargs))

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {k[4:]: kwargs.pop(k) for k in list(kwargs) if k.startswith("opt_")}
        try:
            options = _options_from_cli(values)
        except NarratorError as exc:
            fail(str(exc))
        return func(*args, options=options, **kwargs)

    for decorate in reversed(decorators):
        wrapper = decorate(wrapper)
    return wrapper


def _options_from_cli(values: dict[str, Any]) -> Any:
    """CLI values as GenerateOptions: ``--no-X`` flags inverted, ``KEY=VALUE`` pairs parsed,
    paths as strings; validated (ConfigError -> "Error: ..." before any work)."""
    from narrator.generate.options import GenerateOptions, option_fields, parse_pairs

    for f in option_fields():
        if f.metadata.get("invert"):
            values[f.name] = not values[f.name]
        elif f.metadata.get("multiple"):
            values[f.name] = parse_pairs(values[f.name], f.metadata.get("flag", f.name))
    return GenerateOptions(**values).validate()


def _summary_table(summary: dict[str, Any]) -> Table:
    table = Table(title="narrator generate", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, key in (("scenes", "scenes"), ("processed now", "processed_now"),
                       ("objects", "objects"), ("regions", "regions"),
                       ("QA pairs", "qa_pairs"), ("captions", "captions"),
                       ("quarantined", "quarantined")):
        table.add_row(label, f"{summary.get(key, 0):,}")
        if key == "scenes" and summary.get("files_unchanged"):
            table.add_row("  dataset files", "unchanged: not read again (--reread)")
    for task, n in summary.get("tasks", {}).items():
        table.add_row(f"  {task}", f"{n:,}")
    if summary.get("yes_no"):
        table.add_row("yes / no answers", _balance(summary["yes_no"]))
    for label, value in skew_rows(summary):
        table.add_row(label, value)
    for how, n in sorted(summary.get("caption_outcomes", {}).items()):
        table.add_row(f"  scenes captioned: {how}", f"{n:,}")
    for label, value in llm_summary_rows(summary.get("llm")):
        table.add_row(label, value)
    table.add_row("seconds", f"{summary.get('seconds', 0):.1f}")
    return table


def skew_rows(summary: dict[str, Any], shown: int = 5) -> list[tuple[str, str]]:
    """Summary rows for the VQA families whose most common answer has over 60% of their rows
    (narrator.vqa.skew), the most skewed first; one 'none' row when no family is."""
    if "answer_skew" not in summary:  # a summary recorded before the skew was computed
        return []
    skew = summary["answer_skew"]
    rows = [("families with one answer > 60%", f"{len(skew):,}" if skew else "none")]
    for s in skew[:shown]:
        top = str(s["top"]).replace("\n", " ")
        top = top if len(top) <= 28 else top[:25] + "..."
        rows.append((f"  {s['family']}: {top!r}", f"{s['top_share'] * 100:.0f}% of {s['rows']:,}"))
    return rows


def llm_summary_rows(llm: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Summary-table rows for a run's LLM statistics (narrator.llm.stats.LLMStats.summary)."""
    if not llm:
        return []
    cost = llm.get("cost_usd")
    n = {k: int(llm.get(k) or 0) for k in ("calls", "cached", "failed", "errors",
                                           "http_requests", "prompt_tokens",
                                           "completion_tokens")}  # a run with no shard: 0
    return [("LLM calls", f"{n['calls']:,}"), ("  from cache", f"{n['cached']:,}"),
            ("  failed", f"{n['failed'] + n['errors']:,}"),
            ("  HTTP requests", f"{n['http_requests']:,}"),
            ("  tokens (prompt + completion)",
             f"{n['prompt_tokens']:,} + {n['completion_tokens']:,}"),
            ("  cost (USD)", f"{cost:,.4f}" if cost is not None else "n/a (no price)")]


@cli.command()
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option("--db", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="DuckDB file to write (created if missing).")
@generate_options
@click.option("--no-server", is_flag=True,
              help="Run without Prefect (no temporary server, no flow run in its UI): shards "
                   "on local threads and worker processes. For one-shot runs; --task-runner "
                   "must be thread.")
@click.pass_context
@handle_errors
def generate(ctx: click.Context, dataset: Path, db: Path, options: Any,
             no_server: bool) -> None:
    """Ingest DATASET and build VQA pairs and captions into the DuckDB file --db.

    Reruns skip scenes already done with the same settings, so an interrupted run resumes.

    Example: narrator generate example_data --db narrator.duckdb
    """
    from narrator.generate import Generator
    from narrator.generate.executors import check_scheduler

    if no_server and options.task_runner != "thread":
        raise ConfigError(f"--no-server runs shards on local threads and processes; "
                          f"--task-runner {options.task_runner} needs Prefect (leave out "
                          "--no-server)")
    if options.task_runner == "dask" and options.dask_address:
        check_scheduler(options.dask_address)  # before any work: one line, in seconds
    store = _hold_db(db)
    ctx.call_on_close(store.close)
    generator = Generator(store, dataset, options)
    t0 = time.perf_counter()
    if no_server:
        summary = _generate_local(generator)
    else:
        quiet_prefect(ctx.obj["verbose"], db.with_name(db.name + ".log"))
        summary = _generate_prefect(generator, dataset, db, options)
    summary["seconds"] = time.perf_counter() - t0
    _print_generate_summary(summary, db)


def _generate_local(generator: Any) -> dict[str, Any]:
    """generate without Prefect: the Generator on a local executor (``--no-server``)."""
    from narrator.generate import local_executor

    o = generator.options
    with progress_bars(console):
        return generator.generate(executor_for=lambda plan: local_executor(
            o.workers, generator.processes(plan), o.uses_llm))


def _generate_prefect(generator: Any, dataset: Path, db: Path, options: Any
                      ) -> dict[str, Any]:
    """generate as a Prefect flow run (a temporary server unless PREFECT_API_URL is set)."""
    with progress_bars(console):
        # reading the dataset starts now, in a thread, and overlaps Prefect's start-up
        progress_hooks.start("ingest", None)
        generator.start_ingest(on_source=lambda _s, n: progress_hooks.advance("ingest", n))
        from flows.generate import build_task_runner, generate_flow  # imports Prefect

        runner = build_task_runner(options.task_runner, options.dask_address, options.workers)
        return generate_flow.with_options(task_runner=runner)(
            str(dataset), str(db), prepared=generator, **options.to_params())


def _print_generate_summary(summary: dict[str, Any], db: Path) -> None:
    console.print(_summary_table(summary))
    for warning in summary.get("warnings", []):
        print_error(warning, "Warning:")
    llm = summary.get("llm") or {}
    if llm.get("failure_reasons"):
        n = int(llm.get("failed") or 0) + int(llm.get("errors") or 0)
        reasons = "; ".join(f"{r} ({k})" for r, k in llm["failure_reasons"].items())
        print_error(f"{n:,} LLM calls failed: {reasons}",
                    "Warning:")
    for message in summary["file_errors"]:
        print_error(message)
    if summary["file_errors"]:
        sys.exit(EXIT_FATAL)
    if summary["quarantined"]:
        console.print(f"{summary['quarantined']} records quarantined: see the quarantine "
                      f"table in {db}")
        sys.exit(EXIT_QUARANTINE)


def _hold_db(db: Path) -> Store:
    """Open ``db`` and keep it open (DuckDB's file lock) until the store is closed.

    A database in use by another narrator fails here with one ``Error:`` line, before Prefect
    starts and before the ``<db>.log`` of the run that holds it is touched; the flow's own
    connection in this process shares the open database.
    """
    from narrator.store import Store

    return Store(db, on_wait=lambda message: print_error(message, "[yellow]Waiting:[/]"))


@cli.command()
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option("--db", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="DuckDB file to write (created if missing).")
@click.option("--format", "fmt", default=None, help="Annotation format (default: detect).")
@click.option("--images", default=None, type=click.Path(path_type=Path),
              help="Folder of the images, if not where the dataset config says.")
@click.option("--class-map", "class_map", default=None,
              help="Class map: a YAML file or a built-in name (e.g. sar-aircraft, hrsid).")
@click.option("--masks", default=None,
              help="Folder of segmentation masks (or FOLDER/PATTERN with {stem}), instead of "
                   "a masks section in narrator.yaml.")
@click.option("--mask-classes", "mask_classes", default=None,
              help="What the --masks values are: 0=land,1=water (class indices), "
                   "ship=#800000 (colours) or instance[=NAME].")
@handle_errors
def ingest(dataset: Path, db: Path, fmt: str | None, images: Path | None,
           class_map: str | None, masks: str | None, mask_classes: str | None) -> None:
    """Read DATASET's annotations and metadata into --db, without generating text.

    Formats: coco, voc, dota, yolo, yolo-obb, vector, masks (detected unless --format).

    Example: narrator ingest example_data --db narrator.duckdb
    """
    from narrator.ingest import ingest_into, load_config, with_flag_masks
    from narrator.store import Store

    config = with_flag_masks(load_config(dataset, fmt, images, class_map), masks, mask_classes)
    with Store(db) as store, progress_bars(console) as reporter:
        reporter.start("ingest", None)
        result = ingest_into(store, config,
                             on_source=lambda _s, n: reporter.advance("ingest", n))
    _print_ingest(result, config.root)
    for exc in result.file_errors:
        print_error(exc)
    if result.file_errors:
        sys.exit(EXIT_FATAL)
    if result.quarantine:
        sys.exit(EXIT_QUARANTINE)


def _print_ingest(result: Any, root: Path, shown: int = 5) -> None:
    """Per-source counts, warnings, and the first quarantined records with their reasons."""

    def short(source: str) -> str:
        path = Path(source)
        return str(path.relative_to(root)) if path.is_relative_to(root) else source

    table = Table(title=f"narrator ingest ({result.format})")
    dropped = any(s.dropped for s in result.stats)
    cols = ("source", "scenes", "objects", "regions", "quarantined") + (
        ("dropped",) if dropped else ())
    for col in cols:
        table.add_column(col, justify="left" if col == "source" else "right")
    for s in result.stats:
        row = [short(s.source), str(s.scenes), str(s.objects), str(s.regions), str(s.quarantined)]
        table.add_row(*row, *([str(s.dropped)] if dropped else []))
    console.print(table)
    for warning in result.warnings:
        print_error(warning, "Warning:")
    records = [q for q in result.quarantine if q.record != "whole file"]
    for q in records[:shown]:
        print_error(f"{q.source}: {q.record}: {q.error}", "Quarantined:")
    if len(records) > shown:
        err_console.print(f"... and {len(records) - shown} more quarantined records "
                          "(see the quarantine table)", highlight=False)


EXPORT_FORMATS = ("jsonl", "llava", "sharegpt", "sarlang", "sarchat", "parquet", "vrsbench",
                  "fusar")


def _names(values: tuple[str, ...]) -> tuple[str, ...]:
    """Repeated and comma-separated option values: ``--task a,b --task c`` -> (a, b, c)."""
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


@cli.command()
@click.option("--db", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="DuckDB file made by narrator generate.")
@click.option("--format", "fmt", default="jsonl", show_default=True,
              type=click.Choice(EXPORT_FORMATS), help="Output format.")
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="File to write, or a folder for one file per split (sarlang and sarchat "
                   "always write a folder).")
@click.option("--task", "tasks", multiple=True,
              help="Only these tasks (repeat or comma-separate; 'caption' = captions).")
@click.option("--status", "statuses", multiple=True, default=("accepted",), show_default=True,
              help="Only texts with this status (accepted, rejected, or 'any').")
@click.option("--split", "splits", multiple=True, help="Only these splits (train, val, test).")
@click.option("--style", "styles", multiple=True,
              help="Only VQA pairs of this phrasing style (generic, sarlang, sarchat).")
@click.option("--ratios", default="0.8,0.1,0.1", show_default=True,
              help="train,val,test shares of the scene groups.")
@click.option("--split-seed", default=0, show_default=True,
              help="Seed of the hash that assigns scene groups to splits.")
@click.option("--cell-deg", default=0.1, show_default=True,
              help="Size in degrees of the lon/lat cells that keep nearby scenes together.")
@click.option("--image-root", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="Write image paths relative to this folder.")
@click.option("--images", "images", default="original", show_default=True,
              type=click.Choice(("original", "png")),
              help="png: write 8-bit greyscale previews (dB and percentile stretch) into the "
                   "export folder and point every record at them.")
@click.option("--paths", "paths", default="absolute", show_default=True,
              type=click.Choice(("absolute", "relative")),
              help="Image paths absolute, or relative to the export folder (LLaMA-Factory: "
                   "dataset_dir = that folder; ms-swift: ROOT_IMAGE_DIR).")
@click.option("--single-file", is_flag=True,
              help="Write every split into the one --out file (default: one file per split).")
@click.option("--boxes", default="pixel", show_default=True,
              type=click.Choice(("pixel", "1000", "100", "swift")),
              help="Box scale of the sarchat and vrsbench exports (swift: ms-swift's "
                   "<bbox> tokens and 'objects' in pixels).")
@click.option("--no-class-list", is_flag=True,
              help="sarlang: leave out SARLANG's 'The classes are: ...' prefixes.")
@click.option("--conversations", is_flag=True,
              help="sharegpt: one multi-turn conversation per image (its VQA pairs; its "
                   "captions) instead of one record per text.")
@handle_errors
def export(db: Path, fmt: str, out: Path, tasks: tuple[str, ...], statuses: tuple[str, ...],
           splits: tuple[str, ...], styles: tuple[str, ...], ratios: str, split_seed: int,
           cell_deg: float, image_root: Path | None, images: str, paths: str,
           single_file: bool, boxes: str, no_class_list: bool, conversations: bool) -> None:
    """Write the texts in --db out as training files, split train/val/test by scene group.

    Scenes that are crops of one parent scene, share an acquisition, lie in one
    geographic cell or overlap always land in the same split.

    \b
    Example: narrator export --db narrator.duckdb --format llava --out llava.json
    """
    from narrator.export import ExportOptions, Filters, SplitConfig
    from narrator.export import export as run
    from narrator.export.splits import parse_ratios
    from narrator.store import Store

    status = _names(statuses)
    options = ExportOptions(
        filters=Filters(tasks=_names(tasks), statuses=() if "any" in status else status,
                        splits=_names(splits), styles=_names(styles)),
        splits=SplitConfig(parse_ratios(ratios), split_seed, cell_deg),
        image_root=str(image_root) if image_root else None, images=images, paths=paths,
        single_file=single_file, boxes=boxes, class_list=not no_class_list,
        conversations=conversations)
    with Store(db, read_only=True) as store, progress_bars(console) as reporter:
        result = run(store, fmt, out, options, on_rows=lambda k: reporter.advance("export", k),
                     on_total=lambda t: reporter.start("export", t))
    table = Table(title=f"narrator export ({fmt})")
    for col in ("split", "scenes", "texts"):
        table.add_column(col, justify="left" if col == "split" else "right")
    for name, scenes in result.scene_splits.items():
        table.add_row(name, f"{scenes:,}", f"{result.splits.get(name, 0):,}")
    console.print(table)
    if not result.texts:
        err_console.print("Warning: no text matched the filters", highlight=False)
    for warning in result.warnings:
        err_console.print(f"Warning: {warning}", highlight=False)
    if result.images_written:
        console.print(f"Wrote {result.images_written:,} 8-bit PNG previews", highlight=False)
    console.print(f"Wrote {result.texts:,} records to {out}")


@cli.command("eval")
@click.option("--db", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="DuckDB file the exported texts came from.")
@click.option("--predictions", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="LLaMA-Factory generated_predictions.jsonl, ms-swift infer results, or "
                   "JSON Lines of {id, prediction}.")
@click.option("--reference", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The exported file the model was run on (ties the n-th prediction to "
                   "its n-th record, for predictions without ids).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the scores as JSON here.")
@click.option("--sarlang-csv", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write SARLANG-1M's VQA_result.csv (for its Evaluate_VQA.py).")
@handle_errors
def eval_(db: Path, predictions: Path, reference: Path | None, out: Path | None,
          sarlang_csv: Path | None) -> None:
    """Score a model's predictions with the seeds' metrics, per task.

    VQA: SARLANG-1M's matching rule; boxes: accuracy at IoU 0.25/0.5/0.7; captions and
    descriptions: BLEU-1..4, ROUGE-L, CIDEr (pycocoevalcap).

    \b
    Example: narrator eval --db narrator.duckdb --predictions generated_predictions.jsonl \\
             --reference out/t_test.jsonl --out scores.json
    """
    import json

    from narrator.eval import score, write_sarlang_csv
    from narrator.eval.table import eval_tables
    from narrator.store import Store

    with Store(db, read_only=True) as store:
        result = score(store, predictions, reference)
    for table in eval_tables(result):
        console.print(table)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
        console.print(f"Wrote the scores to {out}")
    if sarlang_csv:
        n = write_sarlang_csv(result, sarlang_csv)
        console.print(f"Wrote {n:,} VQA rows to {sarlang_csv}")


STAGE_LABELS["report"] = "Plotting"


@cli.command()
@click.option("--db", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="DuckDB file made by narrator generate.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write index.html and its PNG plots into.")
@click.option("--price", "prices", multiple=True, metavar="MODEL=IN,OUT",
              help="USD per million prompt and completion tokens of a model, for the LLM "
                   "cost when llm_calls records none (repeatable).")
@handle_errors
def report(db: Path, out: Path, prices: tuple[str, ...]) -> None:
    """Write an HTML report with plots of what --db holds (tasks, categories, answer
    balance, caption lengths, acceptance, LLM usage, text statistics).

    Example: narrator report --db narrator.duckdb --out report
    """
    from narrator.report import parse_price, write_report
    from narrator.store import Store

    price_map = dict(parse_price(p) for p in prices)
    with Store(db, read_only=True) as store, progress_bars(console) as reporter:
        page = write_report(store, out, on_plot=lambda: reporter.advance("report"),
                            on_total=lambda t: reporter.start("report", t), prices=price_map)
    console.print(f"Wrote {page}")


@cli.command()
@click.option("--db", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="DuckDB file made by narrator generate (holds the scenes' facts).")
@click.option("--captions", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help='JSON Lines of {"scene_id" or "image", "text"}.')
@click.option("--out", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="Verdicts file (default: CAPTIONS with .verdicts.jsonl).")
@handle_errors
def screen(db: Path, captions: Path, out: Path | None) -> None:
    """Check captions made elsewhere against the facts of the scenes in --db.

    Writes one verdict per line: accepted or rejected, each violation's type, text span and
    the true value, and every claim with its span, outcome (supported / contradicted /
    unsupported) and the true value. Prints the tallies: accepted, rejected by violation type
    (a caption counts once per type), unsupported claims by kind. Exit status 1 when any
    caption was rejected or unusable. What caption words mean: README "Screening".

    Example: narrator screen --db narrator.duckdb --captions captions.jsonl
    """
    from narrator.screen.external import screen_file
    from narrator.store import Store

    out = out or captions.with_name(captions.stem + ".verdicts.jsonl")
    with Store(db, read_only=True) as store, progress_bars(console) as reporter:
        reporter.start("screen", None)
        summary = screen_file(store, captions, out, on_line=lambda: reporter.advance("screen"))
    table = Table(title="narrator screen")
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, n in (("captions", summary.lines), ("accepted", summary.passed),
                     ("rejected", summary.failed),
                     *((f"  rejected for {k}", v) for k, v in sorted(summary.violations.items())),
                     ("unusable lines", summary.unusable),
                     *((f"  unsupported {k} claims", v)
                       for k, v in sorted(summary.unsupported.items()))):
        table.add_row(label, f"{n:,}")
    console.print(table)
    console.print(f"Verdicts written to {out}")
    if summary.failed or summary.unusable:
        sys.exit(EXIT_QUARANTINE)


@cli.command()
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option("--db", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="DuckDB file the scheduled runs write.")
@click.option("--name", default="narrator-generate", show_default=True,
              help="Deployment name.")
@click.option("--cron", default=None, help="Cron schedule, e.g. '0 * * * *' (hourly).")
@click.option("--interval", default=None, type=int, help="Run every N seconds instead.")
@click.option("--pool", default="narrator", show_default=True,
              help="Process work pool (created if missing) a worker takes runs from.")
@click.option("--serve", is_flag=True,
              help="Serve the deployment from this process instead of registering it.")
@click.option("--api-key-secret", default=None, metavar="BLOCK",
              help="Prefect Secret block holding the OpenAI-compatible API key; the worker "
                   "loads it for each run (the deployment stores only the block's name).")
@click.option("--job-env", multiple=True, metavar="NAME=VALUE",
              help="Environment variable for the worker's runs, e.g. OPENAI_BASE_URL=...; "
                   "credentials are refused (they would be stored in clear).")
@generate_options
@handle_errors
def deploy(dataset: Path, db: Path, name: str, cron: str | None, interval: int | None,
           pool: str, serve: bool, api_key_secret: str | None, job_env: tuple[str, ...],
           options: Any) -> None:
    """Create a scheduled deployment of `generate` that picks up new scenes.

    Needs a Prefect server (`prefect server start`, then PREFECT_API_URL). Without --serve,
    start a worker with `prefect worker start --pool narrator`.

    Example: narrator deploy /data/sardet --db /data/sardet.duckdb --cron '0 * * * *'
    """
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from flows.deploy import deploy_generate, deployment_parameters, job_env as check_env
    from flows.deploy import serve_generate

    env = check_env(job_env)
    params = deployment_parameters(str(dataset), str(db), **options.to_params())
    if api_key_secret:
        params["api_key_secret"] = api_key_secret
    if serve:
        if env:
            raise ConfigError("--job-env is for workers; with --serve, set the variables in "
                              "this process's environment")
        console.print(f"Serving deployment {name!r}; Ctrl+C stops it.")
        serve_generate(name, params, cron, interval)
        return
    dep_id = deploy_generate(name, params, cron, interval, pool, env)
    console.print(f"Created deployment narrator-generate/{name} ({dep_id}) in pool {pool!r}.")
    console.print(f"Start a worker to run it: prefect worker start --pool {pool}")


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
    server = stats.get("server") or {}
    if server:
        table.add_row("server", f"{server['kind']}; context {server['context'] or 'unknown'}; "
                      f"slots {server['slots'] or 'unknown'}; JSON via {server['structured']}")
    console.print(table)
    if not result.ok:
        sys.exit(EXIT_FATAL)


def main() -> None:
    cli(prog_name="narrator")


if __name__ == "__main__":
    main()
