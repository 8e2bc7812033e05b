"""The ``govmail`` command line: the composition root of index, search and web.

Each command imports what it needs inside its body, so ``govmail search`` starts
without loading Flask or the ingestion pipeline. :class:`_Boundary` is the one place
where an exception becomes output: a :class:`GovmailError` leaves as one ``Error: ...``
line on stderr and its class's exit status (``core/errors.py``, the README's error
table); anything else is a bug and leaves as one line and status 70, with the traceback
only under ``--verbose``. Logging is configured here, once.
"""

from __future__ import annotations

import contextlib
import logging
import pickle
import signal
import struct
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from core import config as config_module
from core import logs
from core.errors import INTERNAL, IO_ERROR, NOTHING_FOUND, GovmailError, QueryError


def _settings(ctx: click.Context, **overrides: Any) -> config_module.Settings:
    base: config_module.Settings = ctx.obj["settings"]
    return base.with_overrides(**overrides)


def _error_line(exc: GovmailError) -> str:
    return f"Error: {exc}"


class _Boundary(click.Group):
    """Every command runs inside this: errors become one line and a documented status."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except QueryError as exc:
            click.echo(f"Error: bad query: {exc}", err=True)
            ctx.exit(exc.exit_status)
        except GovmailError as exc:
            click.echo(_error_line(exc), err=True)
            ctx.exit(exc.exit_status)
        except click.UsageError as exc:
            # Click's own form is four lines (usage, hint, blank, error); the rule is one.
            # Its message can hold line breaks too: a missing Choice option lists the
            # choices on lines of their own ("Choose from:\n\topensearch").
            where = f" (see `govmail {exc.ctx.info_name} --help`)" if exc.ctx else ""
            click.echo(f"Error: {' '.join(exc.format_message().split())}{where}", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("Error: interrupted", err=True)
            ctx.exit(130)
        except OSError as exc:
            # The machine said no (a path, a permission, a full disk): its words, once.
            where = f" {exc.filename}" if exc.filename else ""
            click.echo(f"Error: cannot use{where}: {exc.strerror or exc}", err=True)
            ctx.exit(IO_ERROR)
        except (zlib.error, struct.error, EOFError, pickle.UnpicklingError) as exc:
            # What Whoosh's decoders raise on damaged segment bytes.
            click.echo(f"Error: the index is damaged ({type(exc).__name__}: {exc}); "
                       "run `govmail check`", err=True)
            ctx.exit(6)
        except Exception as exc:  # the boundary: a bug must still be one line, not a traceback
            logging.getLogger("govmail").debug("internal error", exc_info=True)
            click.echo(
                f"Error: internal error: {type(exc).__name__}: {exc} "
                "(run with --verbose for the traceback)",
                err=True,
            )
            ctx.exit(INTERNAL)


index_option = click.option(
    "--index",
    "index_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Index directory (default: $GOVMAIL_INDEX, then the config file, then "
    "$XDG_DATA_HOME/govmail/index).",
)


@click.group(cls=_Boundary, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Configuration file (default: $GOVMAIL_CONFIG).",
)
@click.option("--verbose", "-v", count=True,
              help="Log progress and timings to stderr (-vv: debug). Default: $GOVMAIL_LOG, "
              "else warnings only.")
@click.option("--quiet", "-q", is_flag=True, help="Log errors only.")
@click.version_option(package_name="govmail")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, verbose: int, quiet: bool) -> None:
    """govmail: search the mailing-list archives of Internet governance.

    Typical use: `govmail index ARCHIVE...` once, `govmail serve` to browse,
    `govmail search QUERY` from the shell, and `govmail reindex` from cron.
    """
    ctx.ensure_object(dict)
    logs.configure(logs.level_for(verbose, quiet))
    ctx.obj["settings"] = config_module.load(config_path)


# ---- ingestion ---------------------------------------------------------------


@cli.command()
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--messages", "-n", type=click.IntRange(1), default=2000, show_default=True,
              help="Number of messages to generate.")
@click.option("--seed", "-s", type=int, default=1, show_default=True,
              help="Random seed; the same seed always writes the same archive.")
@click.option("--format", "formats", default="mbox", show_default=True,
              help="Comma-separated output forms: mbox, maildir, eml, body (header-less HTML "
              "bodies), or all.")
def sample(outdir: Path, messages: int, seed: int, formats: str) -> None:
    """Write a deterministic, realistic governance-list archive to OUTDIR."""
    from sample.generator import write_sample

    chosen = {"mbox", "maildir", "eml", "body"} if formats == "all" else set(formats.split(","))
    summary = write_sample(outdir, messages=messages, seed=seed, formats=chosen)
    click.echo(summary, err=True)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["plain", "json", "jsonl"]), default="plain",
              show_default=True, help="plain: readable; json: one array; jsonl: one object a line.")
@click.option("--list", "list_name", default=None, help="List name for messages that name none.")
@click.pass_context
def inspect(ctx: click.Context, paths: tuple[Path, ...], fmt: str, list_name: str | None) -> None:
    """Parse PATHS (files or folders of any supported format) and print the records.

    Touches no index. Messages that cannot be parsed are listed on stderr with their
    source location and reason.
    """
    from index.inspect import run_inspect

    settings = _settings(ctx)
    ok = run_inspect(paths, settings, fmt=fmt, list_name=list_name, out=sys.stdout, err=sys.stderr)
    sys.exit(0 if ok else NOTHING_FOUND)


@cli.command("index")
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@index_option
@click.option("--list", "list_name", default=None, help="List name for messages that name none.")
@click.option("--jobs", "-j", type=click.IntRange(0), default=None,
              help="Parser worker processes (0 = one per core).")
@click.option("--aliases", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Author aliases file (CSV or TOML).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.pass_context
def index_command(ctx: click.Context, sources: tuple[Path, ...], index_dir: Path | None,
                  list_name: str | None, jobs: int | None, aliases: Path | None,
                  quiet: bool) -> None:
    """Index SOURCES (mbox, Maildir, .eml, pipermail, folders) incrementally.

    Indexing the same archive twice leaves the same documents. Ends with the counts:
    read = indexed + duplicates + reported.
    """
    from index.indexer import index_paths

    settings = _settings(ctx, index_dir=index_dir, jobs=jobs, aliases=aliases)
    report = index_paths(sources, settings, list_name=list_name, progress=not quiet)
    click.echo(report.summary(), err=True)
    for rejection in report.rejections:
        click.echo(f"reported: {rejection}", err=True)


@cli.command()
@click.pass_context
def reindex(ctx: click.Context) -> None:
    """Index only what is new in the configured sources since the last run."""
    from index.incremental import reindex_configured

    report = reindex_configured(_settings(ctx))
    click.echo(report.summary(), err=True)
    for rejection in report.rejections:
        click.echo(f"reported: {rejection}", err=True)


@cli.command()
@click.option("--every", default="15m", show_default=True,
              help="Interval: a number with s, m or h (e.g. 90s, 15m, 1h).")
@click.pass_context
def watch(ctx: click.Context, every: str) -> None:
    """Run `reindex` on a schedule in the foreground until SIGINT or SIGTERM."""
    from index.incremental import watch_configured

    watch_configured(_settings(ctx), every)


@cli.command()
@index_option
@click.pass_context
def check(ctx: click.Context, index_dir: Path | None) -> None:
    """Verify the index: every segment read whole, the catalog sound, the counts agree.

    Prints what is wrong and what to do; exit status 0 when sound, 6 when damaged.
    """
    from backends import open_reader, verify_index
    from core.errors import IndexDamaged, IndexNotFound
    from index.catalog import CATALOG_NAME, Catalog

    settings = _settings(ctx, index_dir=index_dir)
    if not (Path(settings.index_dir) / CATALOG_NAME).exists():
        raise IndexNotFound(f"no index at {settings.index_dir}")
    problems = verify_index(settings, deep=True)
    documents = None
    if not problems:
        reader = open_reader(settings)
        try:
            documents = reader.doc_count()
        finally:
            reader.close()
    try:
        catalog = Catalog(Path(settings.index_dir))
    except IndexDamaged as exc:
        problems.append(str(exc))
    else:
        try:
            problems.extend(catalog.integrity())
            rows = catalog.count()
        finally:
            catalog.close()
        if documents is not None and not problems and rows != documents:
            problems.append(f"the catalog lists {rows} messages, the index holds {documents}")
    if not problems:
        click.echo(f"ok: {documents} messages, every segment and the catalog read whole")
        return
    for problem in problems:
        click.echo(f"damaged: {problem}")
    raise IndexDamaged(
        f"{settings.index_dir} is damaged ({len(problems)} problem"
        f"{'s' if len(problems) != 1 else ''}); run `govmail rebuild` to index the "
        "sources afresh (the old index answers until the new one replaces it)"
    )


@cli.command()
@click.argument("sources", nargs=-1, type=click.Path(exists=True, path_type=Path))
@index_option
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.pass_context
def rebuild(ctx: click.Context, sources: tuple[Path, ...], index_dir: Path | None,
            quiet: bool) -> None:
    """Index SOURCES (default: the configured ones) afresh and swap the new index in."""
    from index.indexer import rebuild as run_rebuild

    settings = _settings(ctx, index_dir=index_dir)
    report = run_rebuild(settings, sources, progress=not quiet)
    click.echo(report.summary(), err=True)
    for rejection in report.rejections:
        click.echo(f"reported: {rejection}", err=True)


@cli.command()
@click.option("--to", "to", type=click.Choice(["opensearch"]), required=True,
              help="The backend to migrate into (the configuration's [opensearch] index).")
@click.option("--from", "whoosh_dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="The Whoosh index directory to migrate from.")
@click.pass_context
def migrate(ctx: click.Context, to: str, whoosh_dir: Path) -> None:
    """Copy a Whoosh index's messages and catalog into the configured cluster.

    Resumable: run it again after a failure; it ends by checking that the cluster holds
    exactly the Whoosh index's messages (exit status 6 when not).
    """
    from govmail.migrate import migrate as run_migrate

    report = run_migrate(_settings(ctx), whoosh_dir)
    click.echo(report.summary(), err=True)


def _damaged(problems: list[str]) -> GovmailError:
    from core.errors import IndexDamaged

    return IndexDamaged(f"index damaged: {problems[0]}; run `govmail check`")


def _refuse_damaged(settings: config_module.Settings, deep: bool) -> None:
    """A damaged index is refused with one line naming the file, never answered wrongly."""
    from backends import verify_index

    problems = verify_index(settings, deep=deep)
    if problems:
        raise _damaged(problems)


# ---- searching -----------------------------------------------------------------


@cli.command("search")
@click.argument("query", nargs=-1, required=True)
@index_option
@click.option("--limit", "-l", type=click.IntRange(1, 1000), default=20, show_default=True,
              help="Hits per page.")
@click.option("--page", "-p", type=click.IntRange(1), default=1, show_default=True)
@click.option("--sort", type=click.Choice(["relevance", "date", "-date"]), default="relevance",
              show_default=True, help="date = oldest first, -date = newest first.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl", "csv"]),
              default="table", show_default=True)
@click.option("--facets", "show_facets", is_flag=True, help="Print facet counts too.")
@click.option("--count", "count_only", is_flag=True, help="Print only the number of hits.")
@click.option("--filter", "filters", multiple=True, metavar="FACET=VALUE",
              help="Exact facet filter, e.g. --filter list=governance (repeatable).")
@click.option("--columns", default=None, metavar="LIST",
              help="Table columns, comma-separated, from date, author, list, message_id, "
              "subject (default date,author,list,subject).")
@click.pass_context
def search_command(ctx: click.Context, query: tuple[str, ...], index_dir: Path | None,
                   limit: int, page: int, sort: str, fmt: str, show_facets: bool,
                   count_only: bool, filters: tuple[str, ...], columns: str | None) -> None:
    """Search the index. Exit status: 0 with hits, 1 with none, 2 on error.

    Bare words search the authors' own words and subjects; see the README for
    quoted:, all:, from:, subject:, list:, thread:, id:, quotes:, group: and date:.
    """
    from govmail.output import parse_columns, run_search

    settings = _settings(ctx, index_dir=index_dir)
    chosen = parse_columns(columns)
    _refuse_damaged(settings, deep=False)
    found = run_search(settings, " ".join(query), limit=limit, page=page, sort=sort, fmt=fmt,
                       show_facets=show_facets, count_only=count_only, filters=filters,
                       out=sys.stdout, columns=chosen)
    sys.exit(0 if found else NOTHING_FOUND)


@cli.command("export")
@click.argument("query", nargs=-1)
@index_option
@click.option("--format", "fmt", type=click.Choice(["mbox", "csv", "jsonl"]), default="csv",
              show_default=True, help="mbox: the original bytes; csv/jsonl: one row a message.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
              default="-", show_default=True, help="File to write (- for stdout).")
@click.option("--limit", "-l", type=click.IntRange(1), default=100_000, show_default=True,
              help="Most messages to export.")
@click.option("--filter", "filters", multiple=True, metavar="FACET=VALUE",
              help="Exact facet filter, e.g. --filter list=governance (repeatable).")
@click.option("--quoted", is_flag=True, help="Bare words match quoted text too.")
@click.pass_context
def export_command(ctx: click.Context, query: tuple[str, ...], index_dir: Path | None, fmt: str,
                   output: Path, limit: int, filters: tuple[str, ...], quoted: bool) -> None:
    """Export the messages a query matches, oldest first (no query: every message).

    CSV and JSON lines hold what a researcher codes: date, author, group, list, subject,
    message id, thread id, own-words length, quoted authors. mbox holds each message's
    original bytes; one whose source is gone is named on stderr. Exit status 1 when
    nothing matched.
    """
    from core.results import SearchRequest
    from govmail.output import parse_filters
    from index.raw import read
    from search import export
    from search.engine import Engine

    settings = _settings(ctx, index_dir=index_dir)
    engine = Engine(settings)
    lost: list[str] = []
    try:
        request = SearchRequest(query=" ".join(query), filters=parse_filters(filters),
                                sort="date", include_quoted=quoted, with_facets=False)
        docs = export.search_documents(engine, request, limit)
        chunks = export.export(docs, fmt, read, lambda mid, why: lost.append(f"{mid}: {why}"))
        if str(output) == "-":
            for chunk in chunks:
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
        else:
            with open(output, "wb") as handle:
                for chunk in chunks:
                    handle.write(chunk)
    finally:
        engine.close()
    for line in lost:
        click.echo(f"govmail: not exported (source unreadable): {line}", err=True)
    click.echo(f"govmail: exported {len(docs) - len(lost)} of {len(docs)} messages", err=True)
    sys.exit(0 if docs else NOTHING_FOUND)


@cli.command()
@click.argument("message_id")
@index_option
@click.option("--format", "fmt", type=click.Choice(["plain", "json"]), default="plain",
              show_default=True)
@click.pass_context
def show(ctx: click.Context, message_id: str, index_dir: Path | None, fmt: str) -> None:
    """Print the message with MESSAGE_ID (as `search --columns ...,message_id` lists it).

    Exit status 0 when shown, 1 when no message has that id.
    """
    from govmail.output import run_show

    settings = _settings(ctx, index_dir=index_dir)
    _refuse_damaged(settings, deep=False)
    if not run_show(settings, message_id, fmt=fmt, out=sys.stdout):
        click.echo(f"Error: no message with id {message_id!r} in {settings.index_dir}",
                   err=True)
        sys.exit(NOTHING_FOUND)


@cli.command()
@index_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.pass_context
def stats(ctx: click.Context, index_dir: Path | None, fmt: str) -> None:
    """Print messages, authors, lists, date range and index size."""
    from govmail.output import run_stats

    run_stats(_settings(ctx, index_dir=index_dir), fmt=fmt, out=sys.stdout)


# ---- serving -------------------------------------------------------------------


@cli.command()
@index_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True)
@click.option("--threads", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Worker threads of the WSGI server.")
@click.option("--connection-limit", type=click.IntRange(1, 10000), default=None,
              help="Connections held open at once (default 1000; see Deployment).")
@click.option("--channel-timeout", type=click.IntRange(1, 3600), default=None,
              help="Seconds an idle connection stays open (default 30).")
@click.option("--socket/--no-socket", "resident_socket", default=True, show_default=True,
              help="Also answer `govmail search` on a socket in the index directory "
              "(mode 0600), so a search need not start the engine.")
@click.pass_context
def serve(ctx: click.Context, index_dir: Path | None, host: str, port: int, threads: int,
          connection_limit: int | None, channel_timeout: int | None,
          resident_socket: bool) -> None:
    """Serve the web interface and JSON API with waitress (a production WSGI server)."""
    from govmail import deepcheck
    from govmail import resident as resident_module
    from govmail import server as server_module
    from index.raw import read
    from web import create_app

    settings = _settings(ctx, index_dir=index_dir)
    # Before answering, only what costs a stat a file; every byte is read by the
    # background check (about 1 s a GB, over 120 s at 100,000 messages on a loaded
    # machine), whose finding of damage then answers every request that needs the index.
    _refuse_damaged(settings, deep=False)
    verdict = _Verdict()
    app = create_app(settings, read_original=read, damage=verdict.line)
    base_url = settings.base_url or f"http://{host}:{port}"
    server = server_module.create(
        server_module.with_base_url(app, base_url), host, port, threads,
        connection_limit or server_module.CONNECTION_LIMIT,
        channel_timeout or server_module.CHANNEL_TIMEOUT,
    )
    resident = None
    check = deepcheck.BackgroundCheck(settings, verdict.found)
    with _stopped_by_sigterm():
        try:
            if resident_socket and settings.backend == "whoosh":
                resident = resident_module.Resident(
                    settings, lambda args: search_command.make_context("search", args).params,
                    refusal=verdict.refusal)
                if resident.start():
                    click.echo(f"govmail: answering searches on {resident.path}", err=True)
                else:
                    resident.close()
                    resident = None
            click.echo(f"govmail: serving {settings.index_dir} on http://{host}:{port}/",
                       err=True)
            if settings.backend == "whoosh":  # a cluster checks its own shards
                pid = check.start()
                click.echo(f"govmail: checking every segment in the background (process "
                           f"{pid})", err=True)
            server.run()  # returns on SIGINT or SIGTERM (waitress stops on either exception)
        finally:
            check.close()
            server.close()
            if resident is not None:
                resident.close()


class _Verdict:
    """The background check's finding, read by every request: None until it finds damage."""

    def __init__(self) -> None:
        self.error: GovmailError | None = None

    def found(self, problems: list[str] | None, seconds: float, note: str) -> None:
        if problems is None:
            # No verdict is not damage: the cheap checks passed, searches go on.
            logging.getLogger("govmail").warning(
                "the background check of the index ended without a verdict: %s", note)
        elif problems:
            self.error = _damaged(problems)
            click.echo(_error_line(self.error), err=True)
        else:
            click.echo(f"govmail: every segment read whole in {seconds:.1f} s"
                       + (f" ({note})" if note else ""), err=True)

    def line(self) -> str | None:
        """What the web answers (503) instead of searching, once damage is found."""
        return str(self.error) if self.error is not None else None

    def refusal(self) -> tuple[int, str] | None:
        """What the resident answers `govmail search` with, once damage is found."""
        if self.error is None:
            return None
        return self.error.exit_status, _error_line(self.error) + "\n"


@contextlib.contextmanager
def _stopped_by_sigterm() -> Iterator[None]:
    """SIGTERM stops the server as SIGINT does, so the finally blocks remove its socket.

    By default SIGTERM ends the process where it stands; raised as SystemExit in the main
    thread (where waitress's loop runs and catches it), the server shuts down in order.
    """
    def stop(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut the cleanup
        raise SystemExit(0)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    cli()
