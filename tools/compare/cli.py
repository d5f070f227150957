"""`python -m tools.compare --stack dev [--json] [--plot out/break-even.png]` — see docs/comparison.md."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import sys
from pathlib import Path
from typing import Sequence

from .prices import ROOT, CompareError

EXIT_USER_ERROR = 2
EXIT_FAILURE = 1


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tools.compare",
        description="Offline comparison of the MWAA and EKS targets of one stack: resources, monthly cost, break-even. "
                    "Plans the program under Pulumi mocks; needs no cloud credentials.")
    p.add_argument("--stack", default="dev", help="stack whose Pulumi.<stack>.yaml is compared (default: dev)")
    output = p.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the result as JSON on stdout (progress goes to stderr)")
    output.add_argument("--markdown", action="store_true",
                        help="print a GitHub-flavoured summary (for a pull-request comment) on stdout")
    p.add_argument("--base", metavar="REF",
                   help="also plan Pulumi.<stack>.yaml as committed at this git ref and show each target's monthly "
                        "change from it to the working tree")
    p.add_argument("--plot", metavar="PNG", help="where to write the break-even chart (default: out/break-even-<stack>.png)")
    p.add_argument("--no-plot", action="store_true", help="do not write the chart")
    p.add_argument("--region", help="plan and price in this region instead of the stack's aws:region")
    p.add_argument("--prices", metavar="JSON", help="price table to use (default: tools/pricing/prices.json)")
    p.add_argument("--assume", metavar="KEY=VALUE", action="append", default=[],
                   help="override an assumption (repeatable); the keys are listed in the output")
    p.add_argument("--max-scale", type=float, metavar="N",
                   help="scan the workload up to N× (same as --assume maxScale=N; 1 to 1000)")
    p.add_argument("--as-of", metavar="YYYY-MM-DD",
                   help="pricing date (default: today); decides whether the EKS control plane is in standard or "
                        "extended support")
    p.add_argument("--months", type=int, default=1, metavar="N",
                   help="price N months from the pricing date (1 to 120; default 1): EKS/MWAA version support and log "
                        "growth under the declared retention, per month and in total")
    p.add_argument("--commitment", choices=("none", "1y"), default="none",
                   help="price EC2, RDS and ElastiCache at 1-year Savings Plan / reserved rates (default: On-Demand)")
    p.add_argument("--verbose", action="store_true",
                   help="also list every price used with its source and the date it was read (the JSON always has them)")
    p.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from rich.console import Console

    err = Console(stderr=True)
    try:
        return _run(args, err)
    except CompareError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, markup=True, soft_wrap=True)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - config errors and unexpected ones, each as clean lines
        message = _program_error(exc)
        if message is not None:
            err.print("[red]error:[/red] " + message, highlight=False, soft_wrap=True)
            return EXIT_USER_ERROR
        if args.debug:
            raise
        err.print(f"[red]error:[/red] {type(exc).__name__}: {exc} (run with --debug for the traceback)",
                  highlight=False, soft_wrap=True)
        return EXIT_FAILURE


def _program_error(exc: Exception) -> str | None:
    """The program's own config errors (already one line per problem), or None for anything else."""
    import pulumi

    from components.settings import ConfigError

    if isinstance(exc, pulumi.RunError):
        return str(exc)
    if isinstance(exc, ConfigError):
        return "invalid stack config:\n" + "\n".join(f"  {p}" for p in exc.problems)
    if isinstance(exc, FileNotFoundError) and "stacks here" in str(exc):
        return str(exc)
    return None


def pricing_date(text: str | None) -> datetime.date:
    """--as-of YYYY-MM-DD, or today."""
    if text is None:
        return datetime.date.today()
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError(text)
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise CompareError(f"--as-of {text!r} is not a date; allowed: YYYY-MM-DD, e.g. 2026-11-26") from None


def base_stack_file(ref: str, stack: str) -> str:
    """Pulumi.<stack>.yaml as committed at a git ref (`git show REF:Pulumi.<stack>.yaml`)."""
    import subprocess

    name = f"Pulumi.{stack}.yaml"
    try:
        done = subprocess.run(["git", "show", f"{ref}:{name}"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise CompareError("--base needs git, which is not installed") from None
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise CompareError(f"--base {ref}: cannot read {name} at that ref ({why}); allowed: a branch, tag or commit "
                           "of this repository that has the stack file")
    return done.stdout


def _run(args: argparse.Namespace, err) -> int:
    from rich.console import Console

    from .assumptions import Assumptions
    from .core import compare, plan_targets
    from .prices import PriceTable
    from .stackfile import check as check_stack_file

    from .horizon import check_months

    as_of = pricing_date(args.as_of)
    months = check_months(args.months)
    overrides = Assumptions.parse(args.assume)
    if args.max_scale is not None:
        overrides["maxScale"] = args.max_scale
    assumptions = Assumptions(overrides)
    prices = PriceTable.load(args.prices).with_commitment(args.commitment)
    extra = {"aws:region": args.region} if args.region else None
    if args.region:
        prices.region(args.region)  # fail before planning
    check_stack_file(args.stack)  # as the program reads it, before anything is planned
    base_text = None
    if args.base:
        base_text = base_stack_file(args.base, args.stack)
        check_stack_file(args.stack, base_text, f"{args.base}:Pulumi.{args.stack}.yaml")
        from .upgrades import version_problems

        # An Airflow version change its target can't make in place fails here, before any planning, naming the path.
        problems = version_problems(args.stack, base_text, (ROOT / f"Pulumi.{args.stack}.yaml").read_text(), args.base)
        if problems:
            raise CompareError("\n".join(problems))

    with err.status("Planning offline (Pulumi mocks)…") as status:
        plans = plan_targets(args.stack, extra,
                             progress=lambda t: status.update(f"Planning target={t} offline (Pulumi mocks, no credentials)…"))
        status.update("Pricing…")
        result = compare(args.stack, plans, prices, assumptions, as_of=as_of, months=months)
        base = None
        if base_text is not None:
            base_plans = plan_targets(args.stack, extra, config_text=base_text, progress=lambda t: status.update(
                f"Planning target={t} at {args.base} offline (Pulumi mocks)…"))
            base = compare(args.stack, base_plans, prices, assumptions, as_of=as_of, months=months)
        if not args.no_plot:
            from .plot import write_plot

            path = Path(args.plot) if args.plot else ROOT / "out" / f"break-even-{args.stack}.png"
            write_plot(result.break_even, path, args.stack, result.region, prices.currency, result.tco_break_even,
                       result.sensitivity["atConfiguredWorkload"]["sentence"])
            try:
                result.plot = str(path.resolve().relative_to(Path.cwd()))
            except ValueError:
                result.plot = str(path)

    from .markdown import diff_json, render_markdown

    if args.json:
        document = result.to_json()
        if base is not None:
            document["base"] = diff_json(base, result, args.base)
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    elif args.markdown:
        sys.stdout.write(render_markdown(result, base, args.base))
    else:
        from .render import render

        console = Console()
        if not console.is_terminal:  # piped or redirected: wide enough for the side-by-side tables
            console = Console(width=int(os.environ.get("COLUMNS", 130)))
        render(result, console, verbose=args.verbose)
        if base is not None:
            console.print(render_markdown(result, base, args.base).split("#### ", 1)[1], markup=False, highlight=False)
    return 0
