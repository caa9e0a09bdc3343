"""Break each security checklist item in a copy of the repository and require the gate to catch it.

    python -m tools.mutations              every mutation of tools/mutations.yaml; exit 1 if one survives
    python -m tools.mutations --only 13    the mutations of item 13

A mutation is a small named edit (tools/mutations.yaml): a text that must occur
exactly once in one file, and what replaces it. For each mutation and each
environment it applies to, the harness copies the repository, applies the edit,
specialises the environment as it deploys and runs the gate over it: the
checklist checks (tools/checklist.py) in-process, and checkov once over every
mutated template together. The mutation is caught when a finding names its
item; one that survives, or one whose text no longer occurs, fails the run. The
unmutated repository must pass first, so that nothing is caught by accident.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tools.checklist import CHECKOV_ITEMS, CHECKOV_SECRET_PREFIX, CHECKS, TITLES, environment
from tools.render import ENVIRONMENTS, ROOT

MUTATIONS_FILE = ROOT / "tools" / "mutations.yaml"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


class MutationError(Exception):
    """A mutation that cannot be applied: its text is gone, or it names an unknown item or file."""


@dataclass(frozen=True)
class Mutation:
    item: int
    name: str
    file: str
    replace: str
    by: str
    environments: tuple[str, ...]

    @property
    def slug(self) -> str:
        return f"{self.item:02d}-" + "".join(c if c.isalnum() else "-" for c in self.name.lower()).strip("-")

    def apply(self, project: Path) -> None:
        path = project / self.file
        text = path.read_text()
        count = text.count(self.replace)
        if count != 1:
            raise MutationError(
                f"mutation {self.slug!r}: its text occurs {count} times in {self.file}, not once;"
                " update tools/mutations.yaml"
            )
        path.write_text(text.replace(self.replace, self.by))


@dataclass
class Outcome:
    mutation: Mutation
    env: str
    caught_by: list[str] = field(default_factory=list)  # check names and checkov IDs that name the item
    other_findings: int = 0
    error: str | None = None

    @property
    def caught(self) -> bool:
        return bool(self.caught_by) and self.error is None


def load_mutations(path: Path = MUTATIONS_FILE) -> list[Mutation]:
    entries = yaml.safe_load(path.read_text())
    mutations = []
    for entry in entries:
        item = int(entry["item"])
        if item not in TITLES:
            raise MutationError(f"mutation {entry.get('name')!r}: item {item} has no check in tools/checklist.py")
        checked_in = {env for c in CHECKS if c.item == item for env in c.environments}
        environments = tuple(entry.get("environments") or sorted(checked_in))
        mutations.append(
            Mutation(item, entry["name"], entry["file"], entry["replace"], entry.get("by", ""), environments)
        )
    slugs = [m.slug for m in mutations]
    if len(set(slugs)) != len(slugs):
        raise MutationError("tools/mutations.yaml: two mutations share a name")
    return mutations


def _copy_project(target: Path) -> None:
    from tools.replacement_guard import PROJECT_PATHS  # what a render of a tree needs, the source checks too

    for name in PROJECT_PATHS:
        shutil.copytree(ROOT / name, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def _run_one(args: tuple[Mutation, str, Path]) -> tuple[Outcome, list[Path]]:
    """Apply one mutation to a fresh copy, run the checklist, and write what checkov must scan."""
    mutation, env, scan_dir = args
    outcome = Outcome(mutation, env)
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        project = Path(tmp)
        _copy_project(project)
        try:
            mutation.apply(project)
            deployed = environment(env, project=project)
        except Exception as error:  # a mutation that breaks rendering is reported, by name
            outcome.error = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            return outcome, written
        for item_check in CHECKS:
            if env not in item_check.environments:
                continue
            findings = item_check.run(deployed)
            if item_check.item == mutation.item and findings:
                outcome.caught_by.append(item_check.name)
            elif findings:
                outcome.other_findings += len(findings)
        target = scan_dir / mutation.slug / env
        target.mkdir(parents=True, exist_ok=True)
        for stack, template in deployed.stacks.items():
            if template == _BASELINE.get(env, {}).get(stack):
                continue  # unchanged by this mutation: checkov has nothing new to find in it
            scanned = {k: v for k, v in template.items() if k not in ("Rules", "Conditions")}
            path = target / f"{stack}.json"
            path.write_text(json.dumps(scanned, indent=2) + "\n")
            written.append(path)
        if not mutation.file.startswith("templates/"):
            source = scan_dir / mutation.slug / "source" / mutation.file
            source.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(project / mutation.file, source)
    return outcome, written


# Each environment's unmutated templates, set before the workers fork.
_BASELINE: dict[str, dict[str, dict[str, Any]]] = {}


def _checkov_failures(scan_dir: Path, jobs: int) -> dict[tuple[str, str], set[str]]:
    """{(mutation slug, env or "source"): {failed check IDs}}, from checkov over every mutated copy.

    One checkov process per share (``scan_dir/<share>/<slug>/<env>/<stack>.json``), each over one directory:
    checkov's time goes on start-up and on each directory, not on the templates.
    """
    if not CHECKOV.exists():
        raise SystemExit("checkov is not installed: run `make checkov-venv`")
    shares = sorted(scan_dir.iterdir())
    options = ["--framework", "cloudformation", "secrets", "--skip-download", "--quiet", "--compact", "-o", "json"]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    processes = [subprocess.Popen([str(CHECKOV), "--directory", str(share), *options], **pipes) for share in shares]
    failures: dict[tuple[str, str], set[str]] = {}
    for process in processes:
        stdout, stderr = process.communicate()
        if process.returncode not in (0, 1):
            raise SystemExit(f"checkov failed ({process.returncode}): {stderr.strip().splitlines()[-1:]}")
        for report in _json_documents(stdout):
            for failed in report.get("results", {}).get("failed_checks", []):
                # file_path is relative to whichever --directory held it; the absolute one is not
                parts = Path(failed["file_abs_path"]).resolve().relative_to(scan_dir.resolve()).parts[1:]
                failures.setdefault((parts[0], parts[1]), set()).add(failed["check_id"])
    return failures


def _json_documents(text: str) -> Iterator[dict[str, Any]]:
    """checkov prints one JSON report per framework and directory, one after another."""
    decoder = json.JSONDecoder()
    index = 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return
        document, index = decoder.raw_decode(text, index)
        yield from document if isinstance(document, list) else [document]


def _item_of(check_id: str) -> int | None:
    return 5 if check_id.startswith(CHECKOV_SECRET_PREFIX) else CHECKOV_ITEMS.get(check_id)


def baseline_findings() -> list[str]:
    from tools.checklist import run_checks

    return [f for env in ENVIRONMENTS for f in run_checks(environment(env)).findings]


def run(mutations: list[Mutation], jobs: int) -> list[Outcome]:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mutations-scan-") as scan:
        scan_dir = Path(scan)
        runs = [(m, env) for m in mutations for env in m.environments]
        work = [(m, env, scan_dir / f"share-{i % jobs}") for i, (m, env) in enumerate(runs)]
        for env in sorted({env for _, env, _ in work}):
            _BASELINE[env] = environment(env).stacks
        context = multiprocessing.get_context("fork")
        with context.Pool(jobs) as pool:
            results = pool.map(_run_one, work, chunksize=1)
        outcomes = [outcome for outcome, _ in results]
        rendered = time.monotonic()
        failures = _checkov_failures(scan_dir, jobs)
        print(
            f"mutations: rendered and checked {len(work)} copies in {rendered - started:.0f} s, "
            f"checkov scanned them in {time.monotonic() - rendered:.0f} s",
            file=sys.stderr,
        )
        for outcome in outcomes:
            for where in (outcome.env, "source"):
                for check_id in sorted(failures.get((outcome.mutation.slug, where), set())):
                    if _item_of(check_id) == outcome.mutation.item:
                        outcome.caught_by.append(f"checkov {check_id}")
                    else:
                        outcome.other_findings += 1
    return outcomes


def records(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    return [
        {"item": o.mutation.item, "mutation": o.mutation.name, "environment": o.env,
         "caught_by": o.caught_by if o.caught else [], "error": o.error}
        for o in sorted(outcomes, key=lambda o: (o.mutation.item, o.mutation.slug, o.env))
    ]  # fmt: skip


def table(rows: list[dict[str, Any]]) -> str:
    """The harness's table, one row per mutation: docs/security.md carries it, and a test compares the two."""
    grouped: dict[tuple[int, str], dict[str, list[str]]] = {}
    for row in rows:
        caught = ", ".join(f"`{c}`" for c in row["caught_by"]) or f"**SURVIVED** {row['error'] or ''}".strip()
        grouped.setdefault((row["item"], row["mutation"]), {}).setdefault(caught, []).append(row["environment"])
    lines = ["| Item | Mutation | Caught by |", "|---|---|---|"]
    for (item, mutation), by_catch in grouped.items():
        for caught, envs in by_catch.items():
            lines.append(f"| {item} {TITLES[item]} | {mutation} ({', '.join(envs)}) | {caught} |")
    return "\n".join(lines)


DOCS = ROOT / "docs" / "security.md"
DOCS_BEGIN = "<!-- mutations table: written by python -m tools.mutations --write-docs -->"
DOCS_END = "<!-- end of mutations table -->"


def docs_table(text: str) -> str:
    """The table between docs/security.md's markers."""
    return text.split(DOCS_BEGIN, 1)[1].split(DOCS_END, 1)[0].strip()


def write_docs(rows: list[dict[str, Any]]) -> None:
    text = DOCS.read_text()
    before, rest = text.split(DOCS_BEGIN, 1)
    after = rest.split(DOCS_END, 1)[1]
    DOCS.write_text(f"{before}{DOCS_BEGIN}\n{table(rows)}\n{DOCS_END}{after}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutations", type=Path, default=MUTATIONS_FILE, help="the mutations file (YAML)")
    parser.add_argument("--only", type=int, action="append", help="only this item's mutations (repeatable)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--json", type=Path, help="also write the outcomes here")
    parser.add_argument("--write-docs", action="store_true", help="write the table into docs/security.md")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        mutations = [m for m in load_mutations(args.mutations) if not args.only or m.item in args.only]
    except MutationError as error:
        print(error, file=sys.stderr)
        return 2
    baseline = baseline_findings()
    if baseline:
        print("the unmutated repository already fails the checklist, so no mutation can be judged:", file=sys.stderr)
        print("\n".join(baseline), file=sys.stderr)
        return 1
    outcomes = run(mutations, args.jobs)
    rows = records(outcomes)
    print(table(rows))
    survived = [o for o in outcomes if not o.caught]
    items = sorted({o.mutation.item for o in outcomes})
    unmutated = sorted(set(TITLES) - set(items)) if not args.only else []
    print(
        f"\nmutations: {len(mutations)} edits, {len(outcomes)} runs over {len(items)} items, "
        f"{len(outcomes) - len(survived)} caught, {len(survived)} survived, {time.monotonic() - started:.0f} s"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    if args.write_docs and (survived or args.only):
        print("--write-docs: nothing written; the table comes from a full run in which every mutation is caught")
    elif args.write_docs:
        write_docs(rows)
        print(f"wrote the table into {DOCS.relative_to(ROOT)}")
    for outcome in survived:
        print(
            f"survived: item {outcome.mutation.item} mutation {outcome.mutation.name!r} in {outcome.env}"
            + (f" ({outcome.error})" if outcome.error else ""),
            file=sys.stderr,
        )
    if unmutated:
        print(f"items without a mutation: {unmutated}; add one to tools/mutations.yaml", file=sys.stderr)
    return 1 if survived or unmutated else 0


if __name__ == "__main__":
    sys.exit(main())
