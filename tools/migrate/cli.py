"""``python -m tools.migrate``: move Airflow's metadata (variables, connections, pools, paused DAGs)
between Airflows: MWAA (through the MWAA API) and self-managed (through the REST API).

Exit codes: 0 done; 1 error (one line on stderr; an import that stops halfway, on a timeout or a server
that keeps failing, then lists what it wrote and what it did not, and running it again finishes the job);
2 bad command line; 3 finished, but something needs a look (import: conflicts, errors, skipped items, DAGs
the target has not parsed; diff: items missing or changed on the target); 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import traceback
from urllib.parse import urlsplit, urlunsplit

from . import ops
from .api import AirflowApi
from .argtypes import mwaa_name, positive_int, seconds
from .errors import ImportAborted, MigrateError
from .model import KINDS, check_output, read_document, write_document
from .sensitive import Scrubber, SensitiveNames, secret_strings
from .transport import HttpTransport, MwaaTransport, check_url

EXIT_OK, EXIT_ERROR, EXIT_ATTENTION = 0, 1, 3
LIST_LIMIT = 20  # keys shown per category in the human summary (--json shows them all)


# --- command line ---------------------------------------------------------------------------------


class Parser(argparse.ArgumentParser):
    """No abbreviations (``--source-password`` must not pass for ``--source-password-env``), and usage errors
    that never echo what followed an unknown option (it may be a password typed in the wrong place)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, allow_abbrev=False, **kwargs)

    def error(self, message: str):
        if message.startswith("unrecognized arguments: "):
            options = [word for word in message.split()[2:] if word.startswith("-")]
            message = "unrecognized arguments: " + (" ".join(options) + " (values not shown)" if options
                                                    else "(values not shown)")
        super().error(message)


def _endpoint_args(p: argparse.ArgumentParser, role: str, required: bool) -> None:
    g = p.add_argument_group(f"{role} Airflow" + ("" if required else " (instead of an export file)"))
    g.add_argument(f"--{role}-url", metavar="URL", help="Airflow API server, e.g. http://127.0.0.1:8080")
    g.add_argument(f"--{role}-user", metavar="USER", help="Airflow user (with --%s-url)" % role)
    g.add_argument(f"--{role}-password-env", metavar="VAR",
                   help="name of the environment variable holding the user's password")
    g.add_argument(f"--{role}-token-env", metavar="VAR",
                   help="name of the environment variable holding an API token (instead of user/password)")
    g.add_argument(f"--{role}-mwaa", metavar="ENV", type=mwaa_name, help="Amazon MWAA environment name (instead of --%s-url)" % role)
    g.add_argument(f"--{role}-region", metavar="REGION", help="AWS region of the MWAA environment")
    g.add_argument(f"--{role}-profile", metavar="PROFILE", help="AWS profile for the MWAA API")


# Defaults of the options a subcommand does not take (its --help does not list them).
DEFAULTS = {"kinds": ",".join(KINDS), "batch_size": 500, "write_workers": 1, "sensitive_names": ""}


def _common_args(p: argparse.ArgumentParser, *, items: bool, writes: bool, roles: tuple[str, ...]) -> None:
    """Options of every subcommand; ``items``: it reads variables/connections/pools (the secrets among them);
    ``writes``: it sends bulk writes; ``roles``: its sides (source, target)."""
    p.set_defaults(**DEFAULTS)
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    if items:
        p.add_argument("--kinds", default=DEFAULTS["kinds"], help="comma-separated subset of: %(default)s")
    p.add_argument("--region", help="AWS region for " + " and ".join(f"--{r}-mwaa" for r in roles)
                   + " when --" + "-region/--".join(roles) + "-region is not given")
    p.add_argument("--workers", type=positive_int, default=8, help="parallel requests (default 8; MWAA: at most 4)")
    p.add_argument("--page-size", type=positive_int, default=None,
                   help="items per page when reading (the server caps it at its [api] maximum_page_limit; default 1000)")
    if writes:
        p.add_argument("--batch-size", type=positive_int, default=DEFAULTS["batch_size"],
                       help="items per bulk write (Airflow 3; default 500)")
        p.add_argument("--write-workers", type=positive_int, default=DEFAULTS["write_workers"],
                       help="bulk write requests in flight (Airflow 3; default 1: SQLite and small DBs serialise writes)")
    p.add_argument("--timeout", type=seconds, default=120.0, help="seconds per HTTP request (default 120)")
    if items:
        p.add_argument("--sensitive-names", default="",
                       help="extra comma-separated names to treat as secret (like [core] sensitive_var_conn_names)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="python -m tools.migrate",
        description="Move variables, connections, pools and DAG paused state between Airflow deployments "
        "(MWAA or self-managed) through their REST APIs.",
        epilog="Exit codes: 0 done, 1 error, 2 usage, 3 done but needs attention (conflicts, differences).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{export,import,diff,pause}",
                                parser_class=Parser)
    parser.commands = sub.choices  # name -> its parser, for usage errors found after parsing

    p = sub.add_parser("export", help="read a source Airflow into a JSON file (mode 0600)")
    _common_args(p, items=True, writes=False, roles=("source",))
    _endpoint_args(p, "source", True)
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="export file to write")
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")

    p = sub.add_parser("import", help="write an export file into a target Airflow")
    _common_args(p, items=True, writes=True, roles=("target",))
    p.add_argument("file", metavar="FILE", help="export file to read")
    _endpoint_args(p, "target", True)
    p.add_argument("--dry-run", action="store_true", help="show what would happen; write nothing")
    p.add_argument("--overwrite", action="store_true",
                   help="replace items that exist on the target with other values (default: report them)")
    p.add_argument("--allow-incomplete", action="store_true",
                   help="also import items whose secret the source hid, leaving that field empty on the target")

    p = sub.add_parser("diff", help="compare an export file or a live source with a target")
    _common_args(p, items=True, writes=False, roles=("source", "target"))
    p.add_argument("file", nargs="?", metavar="FILE", help="export file (or give --source-url/--source-mwaa)")
    _endpoint_args(p, "source", False)
    _endpoint_args(p, "target", True)

    p = sub.add_parser("pause", help="pause DAGs on a target (all of them by default)")
    _common_args(p, items=False, writes=False, roles=("target",))
    _endpoint_args(p, "target", True)
    p.add_argument("--dags", help="comma-separated DAG ids (default: every DAG)")
    p.add_argument("--dry-run", action="store_true", help="show what would be paused; change nothing")
    return parser


def check_credentials(parser: argparse.ArgumentParser, args) -> None:
    """How each URL side logs in, checked as a usage error before anything is read or sent."""
    parser = parser.commands[args.command]
    for role in ("source", "target"):
        if not getattr(args, f"{role}_url", None):
            continue
        user, password = getattr(args, f"{role}_user"), getattr(args, f"{role}_password_env")
        token = getattr(args, f"{role}_token_env")
        if token and (user or password):
            parser.error(f"--{role}-token-env replaces --{role}-user/--{role}-password-env: give one or the other")
        if not token and not user:
            parser.error(f"--{role}-url needs --{role}-user (with --{role}-password-env) or --{role}-token-env")
        if user and not password:
            parser.error(f"--{role}-user needs --{role}-password-env (the password is never a command-line argument)")


def _kinds(args) -> list[str]:
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise MigrateError(f"--kinds takes a comma-separated subset of {','.join(KINDS)} (got {args.kinds!r})")
    return [k for k in KINDS if k in kinds]


def _env(var: str | None, flag: str) -> str | None:
    if var is None:
        return None
    if var not in os.environ:
        # The name is not echoed: a password given to the option by mistake would be printed.
        raise MigrateError(f"the environment variable named by {flag} is not set")
    return os.environ[var]


def _has_endpoint(args, role: str) -> bool:
    return bool(getattr(args, f"{role}_url") or getattr(args, f"{role}_mwaa"))


def _describe(args, role: str) -> dict:
    if getattr(args, f"{role}_mwaa"):
        return {"kind": "mwaa", "name": getattr(args, f"{role}_mwaa"),
                "region": getattr(args, f"{role}_region") or args.region}
    parts = urlsplit(getattr(args, f"{role}_url"))
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return {"kind": "url", "url": urlunsplit((parts.scheme, netloc, parts.path, "", ""))}


def check_urls(args) -> None:
    """Both URLs are checked before anything is read or sent (a password in one must not be echoed)."""
    for role in ("source", "target"):
        url = getattr(args, f"{role}_url", None)
        if url:
            check_url(url, f"--{role}-url")


def connect(args, role: str, scrub: Scrubber) -> AirflowApi:
    url, mwaa = getattr(args, f"{role}_url"), getattr(args, f"{role}_mwaa")
    if bool(url) == bool(mwaa):
        raise MigrateError(f"give exactly one of --{role}-url and --{role}-mwaa")
    if min(args.workers, args.batch_size, args.write_workers) < 1 or (args.page_size is not None
                                                                     and args.page_size < 1):
        raise MigrateError("--workers, --write-workers, --batch-size and --page-size must be positive")
    if mwaa:
        transport = MwaaTransport(mwaa, region=getattr(args, f"{role}_region") or args.region,
                                  profile=getattr(args, f"{role}_profile"), workers=min(args.workers, 4),
                                  role=role)
    else:
        user = getattr(args, f"{role}_user")
        password = _env(getattr(args, f"{role}_password_env"), f"--{role}-password-env")
        token = _env(getattr(args, f"{role}_token_env"), f"--{role}-token-env")
        transport = HttpTransport(url, user=user, password=password, token=token, timeout=args.timeout,
                                  workers=args.workers, role=role)
    return AirflowApi(transport, SensitiveNames(args.sensitive_names.split(",")), scrub,
                      page_size=args.page_size, batch_size=args.batch_size, write_workers=args.write_workers)


# --- output ---------------------------------------------------------------------------------------


class Out:
    def __init__(self, as_json: bool):
        self.as_json = as_json
        from rich.console import Console

        # Not a terminal (a log, a pipe): wide enough that the tables keep their headers whole.
        width = None if sys.stdout.isatty() else 160
        self.console = Console(markup=False, highlight=False, emoji=False, soft_wrap=True, width=width)

    def line(self, text: str = "") -> None:
        if not self.as_json:
            self.console.print(text)

    def table(self, title: str, columns: list[str], rows: list[list]) -> None:
        if self.as_json:
            return
        from rich.table import Table

        t = Table(title=title, title_justify="left")
        for i, c in enumerate(columns):
            t.add_column(c, justify="left" if i == 0 else "right")
        for r in rows:
            t.add_row(*[str(x) for x in r])
        self.console.print(t)

    def keys(self, label: str, keys: list) -> None:
        if self.as_json or not keys:
            return
        shown = [k if isinstance(k, str) else f"{k['key']} ({', '.join(k['fields'])})" for k in keys[:LIST_LIMIT]]
        more = f" ... and {len(keys) - LIST_LIMIT} more" if len(keys) > LIST_LIMIT else ""
        self.console.print(f"  {label} ({len(keys)}): " + ", ".join(shown) + more)

    def errors(self, label: str, errors: list[dict]) -> None:
        if self.as_json or not errors:
            return
        self.console.print(f"  {label} ({len(errors)}):")
        for e in errors[:LIST_LIMIT]:
            self.console.print(f"    {e['key']}: {e['error']}")
        if len(errors) > LIST_LIMIT:
            self.console.print(f"    ... and {len(errors) - LIST_LIMIT} more")

    def dump(self, summary: dict) -> None:
        if self.as_json:
            sys.stdout.write(json.dumps(summary, ensure_ascii=False, indent=1) + "\n")


# --- commands -------------------------------------------------------------------------------------


def cmd_export(args, out: Out, scrub: Scrubber) -> int:
    kinds = _kinds(args)
    check_output(args.output, args.force)  # before the source is read: a long export must not be lost at the end
    api = connect(args, "source", scrub)
    try:
        doc, summary = ops.export(api, kinds, _describe(args, "source"))
    finally:
        api.close()
    write_document(args.output, doc, force=args.force)
    summary["file"] = os.path.abspath(args.output)
    out.dump(summary)
    out.line(f"Exported from {summary['source']} (Airflow {summary['airflow_version']}) to {summary['file']} "
             f"in {summary['seconds']}s")
    out.table("export", ["kind", "exported", "secret hidden by source"],
              [[k, v["exported"], len(v["hidden_secrets"])] for k, v in summary["kinds"].items()])
    for kind, v in summary["kinds"].items():
        out.keys(f"{kind} with a secret the source did not reveal", v["hidden_secrets"])
        out.keys(f"{kind} exported as read, though they contain *** (check that the source did not mask part "
                 f"of them)", v.get("contains_mask", []))
    if any(v["hidden_secrets"] for v in summary["kinds"].values()):
        out.line("Note: the source hid some secrets (Airflow 2.x never returns connection passwords; Airflow 3 masks "
                 "them unless [core] hide_sensitive_var_conn_fields is False and [logging] min_length_masked_secret "
                 "is longer than the secrets). Import skips those items unless --allow-incomplete; "
                 "see docs/migration.md.")
    return EXIT_OK


def cmd_import(args, out: Out, scrub: Scrubber) -> int:
    kinds = _kinds(args)
    doc = read_document(args.file)
    scrub.add(secret_strings(doc, SensitiveNames(args.sensitive_names.split(","))))
    kinds = [k for k in kinds if k in doc]
    api = connect(args, "target", scrub)
    try:
        summary = ops.run_import(api, doc, kinds, args.overwrite, args.allow_incomplete, args.dry_run)
    finally:
        api.close()
    summary["file"] = os.path.abspath(args.file)
    out.dump(summary)
    verb = "Dry run: nothing written to" if args.dry_run else "Imported into"
    out.line(f"{verb} {summary['target']} (Airflow {summary['airflow_version']}) from {summary['file']} "
             f"(exported from Airflow {summary['file_airflow_version']}) in {summary['seconds']}s")
    w = "would " if args.dry_run else ""
    rows = []
    for kind, e in summary["kinds"].items():
        if kind == "dags":
            continue
        rows.append([kind, e["in_file"], len(e.get("would_create", e.get("created", []))),
                     len(e.get("would_overwrite", e.get("overwritten", []))),
                     len(e["unchanged"]) + len(e["unchanged_secret_unverified"]), len(e["conflicts"]),
                     len(e["skipped_hidden_secrets"]), len(e["errors"])])
    if rows:
        out.table("import", ["kind", "in file", f"{w}create", f"{w}overwrite", "unchanged", "conflicts",
                             "skipped: secret hidden", "errors"], rows)
    for kind, e in summary["kinds"].items():
        if kind == "dags":
            changes = e.get("would_set_paused", e.get("paused_state_set", {}))
            out.table("DAG paused state", ["in file", f"{w}pause", f"{w}unpause", "unchanged",
                                           "not on target", "errors"],
                      [[e["in_file"], sum(1 for v in changes.values() if v),
                        sum(1 for v in changes.values() if not v), len(e["unchanged"]),
                        len(e["missing_on_target"]), len(e["errors"])]])
            out.keys("DAGs that would be paused" if args.dry_run else "DAGs paused",
                     sorted(k for k, v in changes.items() if v))
            out.keys("DAGs that would be unpaused" if args.dry_run else "DAGs unpaused",
                     sorted(k for k, v in changes.items() if not v))
            out.keys("DAGs not parsed on the target yet (paused state not applied)", e["missing_on_target"])
            out.errors("DAG errors", e["errors"])
            continue
        out.keys(f"{kind} conflicts, left as they are on the target (use --overwrite to replace)", e["conflicts"])
        out.keys(f"{kind} skipped: the source hid their secret (see --allow-incomplete)", e["skipped_hidden_secrets"])
        out.keys(f"{kind} unchanged, secret not comparable (hidden by one side)", e["unchanged_secret_unverified"])
        out.errors(f"{kind} errors", e["errors"])
    return EXIT_ATTENTION if ops.import_needs_attention(summary) else EXIT_OK


def cmd_diff(args, out: Out, scrub: Scrubber) -> int:
    kinds = _kinds(args)
    is_sensitive = SensitiveNames(args.sensitive_names.split(","))
    if bool(args.file) == _has_endpoint(args, "source"):
        raise MigrateError("diff needs exactly one source: an export FILE or --source-url/--source-mwaa")
    if args.file:
        doc = read_document(args.file)
        scrub.add(secret_strings(doc, is_sensitive))
        kinds = [k for k in kinds if k in doc]
        source, source_label = doc, os.path.abspath(args.file)
        target_api = connect(args, "target", scrub)
        try:
            target = ops.read_state(target_api, kinds)
        finally:
            target_api.close()
        target_label = target_api.label
        timings = {"target": target_api.timings}
    else:
        source_api = connect(args, "source", scrub)
        try:
            target_api = connect(args, "target", scrub)
            try:
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(max_workers=2) as ex:
                    fs, ft = ex.submit(ops.read_state, source_api, kinds), ex.submit(ops.read_state, target_api, kinds)
                    source, target = fs.result(), ft.result()
            finally:
                target_api.close()
        finally:
            source_api.close()
        source_label, target_label = source_api.label, target_api.label
        timings = {"source": source_api.timings, "target": target_api.timings}
    result = ops.diff(source, target, kinds)
    clean = ops.diff_is_clean(result)
    out.dump({"command": "diff", "source": source_label, "target": target_label, "clean": clean, "kinds": result,
              "timings": timings})
    out.line(f"Diff of {source_label} (source) against {target_label} (target)")
    out.table("diff", ["kind", "same", "missing on target", "changed", "only on target", "secret not comparable"],
              [[k, r["same"], len(r["missing"]), len(r["changed"]), len(r["added"]), len(r["same_secret_unverified"])]
               for k, r in result.items()])
    for kind, r in result.items():
        out.keys(f"{kind} missing on the target", r["missing"])
        out.keys(f"{kind} changed (fields)", r["changed"])
        out.keys(f"{kind} only on the target", r["added"])
    out.line("No differences." if clean else "Differences found.")
    return EXIT_OK if clean else EXIT_ATTENTION


def cmd_pause(args, out: Out, scrub: Scrubber) -> int:
    dags = [d.strip() for d in args.dags.split(",") if d.strip()] if args.dags else None
    api = connect(args, "target", scrub)
    try:
        summary = ops.pause_all(api, dags, args.dry_run)
    finally:
        api.close()
    out.dump(summary)
    done = summary.get("would_pause", summary.get("paused", []))
    out.line(f"{'Dry run: would pause' if args.dry_run else 'Paused'} {len(done)} DAG(s) on {summary['target']}; "
             f"{len(summary['already_paused'])} already paused")
    out.keys("would pause" if args.dry_run else "paused", done)
    out.keys("unknown DAG ids", summary["unknown"])
    out.errors("errors", summary["errors"])
    return EXIT_ATTENTION if summary["errors"] or summary["unknown"] else EXIT_OK


COMMANDS = {"export": cmd_export, "import": cmd_import, "diff": cmd_diff, "pause": cmd_pause}


def _shown(keys: list[str]) -> str:
    more = f" ... and {len(keys) - LIST_LIMIT} more" if len(keys) > LIST_LIMIT else ""
    return ": " + ", ".join(keys[:LIST_LIMIT]) + more if keys else ""


def report_abort(exc: ImportAborted, out: Out, scrub: Scrubber) -> None:
    """What an import that stopped halfway did and did not do, and how to finish it (stderr; JSON on stdout)."""
    out.dump({"command": "import", "aborted": scrub(str(exc)), "kinds": exc.progress})
    lines = ["The import stopped before it finished. Written so far, per kind:"]
    for kind, p in exc.progress.items():
        lines.append(f"  {kind}: written {len(p['written'])}{_shown(p['written'])}")
        lines.append(f"  {kind}: not written (or not confirmed) {len(p['not_written'])}{_shown(p['not_written'])}")
        if p["failed"]:
            lines.append(f"  {kind}: failed {len(p['failed'])}{_shown([e['key'] for e in p['failed']])}")
    lines.append("To finish, run the same command again: what was written now matches the file and is left "
                 "as it is; only the rest is written.")
    print(scrub("\n".join(lines)), file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    # Nothing below WARNING from the HTTP/AWS libraries: their debug logs would carry request bodies.
    for name in ("urllib3", "botocore", "boto3", "requests"):
        logging.getLogger(name).setLevel(logging.WARNING)
    parser = build_parser()
    args = parser.parse_args(argv)
    out = Out(args.json)
    scrub = Scrubber()
    try:
        check_urls(args)
        check_credentials(parser, args)
        return COMMANDS[args.command](args, out, scrub)
    except ImportAborted as exc:
        print(f"error: {(scrub(str(exc)).splitlines() or ['stopped'])[0]}", file=sys.stderr)
        report_abort(exc, out, scrub)
        return 130 if exc.interrupted else EXIT_ERROR
    except MigrateError as exc:
        print(f"error: {scrub(str(exc)).splitlines()[0] if str(exc) else type(exc).__name__}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one scrubbed line; the traceback only on request
        if os.environ.get("MIGRATE_DEBUG"):
            sys.stderr.write(scrub(traceback.format_exc()))
        first = scrub(str(exc)).splitlines()[0][:300] if str(exc) else ""
        print(f"error: internal error {type(exc).__name__}: {first} (set MIGRATE_DEBUG=1 for a traceback)",
              file=sys.stderr)
        return EXIT_ERROR
