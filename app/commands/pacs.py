"""``medmo pacs echo|find|get|send|nodes|cache``: the PACS client without the window, for
scripts and for checking a site's set-up.

A node is a name saved in the nodes file (``medmo pacs nodes``; the window uses the same
file), ``dicom://AET@host:port`` or a DICOMweb base URL (``http(s)://host:port/dicom-web``).
DICOMweb passwords and tokens come from the OS keyring, the MEDMO_PACS_SECRET environment
variable, or a prompt; they are never written to a file. Exit status: 0 done, 1 the PACS
failed or something was not transferred (the JSON says what), 2 wrong input.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

DATE_WORDS = {"any": "any date", "today": "today", "yesterday": "yesterday",
              "last-7-days": "last 7 days", "last-30-days": "last 30 days",
              "last-365-days": "last 365 days"}


def add_arguments(parser) -> None:
    parser.description = __doc__.split("\n\n", 1)[1]
    actions = parser.add_subparsers(dest="pacs_action", metavar="ACTION", required=True)

    def action(name: str, help_text: str, *, node: bool = True):
        p = actions.add_parser(name, help=help_text)
        if node:
            p.add_argument("--node", required=True, metavar="NODE",
                           help="saved node name, dicom://AET@host:port or a DICOMweb URL")
            p.add_argument("--aet", metavar="OUR_AET", help="our calling AE title "
                           "(default: the node's, else MEDMO)")
            p.add_argument("--timeout", type=float, default=30.0, metavar="S",
                           help="give up when the PACS is silent this long (default 30)")
        p.add_argument("--json", action="store_true", help="print one JSON object")
        return p

    action("echo", "test the connection (C-ECHO, or a QIDO search)").set_defaults(func=_echo)

    find = action("find", "search studies")
    find.add_argument("--patient-name", default="", help="smith, SMITH*, smi*, 'smith john'")
    find.add_argument("--patient-id", default="")
    find.add_argument("--accession", default="")
    find.add_argument("--date", default="", help="YYYYMMDD, FROM-TO (either side may be "
                      "empty), or " + ", ".join(DATE_WORDS))
    find.add_argument("--modality", default="")
    find.add_argument("--description", default="", help="a word of the study description")
    find.add_argument("--limit", type=int, default=None, help="at most this many studies")
    find.set_defaults(func=_find)

    get = action("get", "retrieve a study (C-GET, C-MOVE or WADO-RS) into a folder")
    get.add_argument("--study", required=True, metavar="UID", help="Study Instance UID")
    get.add_argument("--out", required=True, metavar="DIR", help="folder for the instances "
                     "(one sub-folder per series)")
    get.add_argument("--move", action="store_true", help="C-MOVE to our own storage port "
                     "instead of C-GET (the PACS must know our AE title, host and --port)")
    get.add_argument("--port", type=int, default=0, help="our storage port for --move")
    get.add_argument("--cache", metavar="DIR", help="study cache (default "
                     "${MEDMO_CACHE:-~/.cache/medmo}/pacs); a study already there is not "
                     "fetched again")
    get.set_defaults(func=_get)

    send = action("send", "send DICOM files (C-STORE or STOW-RS); recorded in the audit log")
    send.add_argument("files", nargs="+", metavar="FILE")
    send.add_argument("--workspace", metavar="DIR", help="whose audit log records the send "
                      "(default ${MEDMO_WORKSPACE:-~/.local/share/medmo/workspace})")
    send.set_defaults(func=_send)

    nodes = action("nodes", "list, add or remove saved nodes", node=False)
    nodes.add_argument("change", nargs="*", metavar="add NAME NODE | remove NAME")
    nodes.add_argument("--aet", help="our AE title for this DICOM node")
    nodes.add_argument("--port", type=int, default=0, help="our storage port (C-MOVE)")
    nodes.add_argument("--retrieve", choices=["get", "move"], default="get")
    nodes.add_argument("--auth", choices=["none", "basic", "bearer"], default="none")
    nodes.add_argument("--user", default="")
    nodes.add_argument("--ca-bundle", default="", help="PEM file of the CAs to trust (https)")
    nodes.set_defaults(func=_nodes)

    cache = action("cache", "list or purge the local study cache", node=False)
    cache.add_argument("change", nargs="*", metavar="purge [UID]")
    cache.add_argument("--older-than", type=float, metavar="DAYS",
                       help="with purge: only studies not fetched or opened for DAYS")
    cache.add_argument("--cache", metavar="DIR")
    cache.set_defaults(func=_cache)


# ---- helpers -------------------------------------------------------------------------
def _print(result: dict, as_json: bool, lines: list[str] | None = None) -> None:
    if as_json:
        print(json.dumps(result))
    else:
        for line in lines if lines is not None else [f"{k}: {v}" for k, v in result.items()]:
            print(line)


def _fail(message: str, code: int = 1, as_json: bool = False) -> int:
    if as_json:
        print(json.dumps({"error": message}))
    print(f"medmo pacs: {message}", file=sys.stderr)
    return code


def _ask(prompt: str) -> str | None:
    secret = os.environ.get("MEDMO_PACS_SECRET")
    if secret:
        return secret
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass(f"{prompt}: ")
    return None


def _client(args):
    """(client, error exit code or None)."""
    from viewer.pacs import NodeBook, PacsClient, PacsError, Timeouts
    from viewer.pacs.secrets import Secrets

    try:
        node = NodeBook().resolve(args.node, our_ae_title=args.aet)
        timeouts = Timeouts(message_s=args.timeout)
    except (PacsError, ValueError) as exc:
        return None, _fail(str(exc), 2, args.json)
    return PacsClient(node, secrets=Secrets(ask=_ask), timeouts=timeouts), None


# ---- actions -------------------------------------------------------------------------
def _echo(args) -> int:
    from viewer.pacs import PacsError

    client, code = _client(args)
    if client is None:
        return code
    try:
        ms = client.echo()
    except PacsError as exc:
        return _fail(str(exc), 1, args.json)
    _print({"ok": True, "node": client.node.label, "protocol": client.protocol,
            "milliseconds": round(ms, 1)}, args.json,
           [f"{client.node.label}: {client.protocol} OK in {ms:.0f} ms"])
    return 0


def _date(text: str) -> str:
    from datetime import date

    from viewer.pacs.query import date_range

    word = DATE_WORDS.get(text.strip().lower())
    return date_range(word, today=date.today()) if word else text.strip()


def _find(args) -> int:
    from viewer.pacs import PacsError, StudyQuery

    try:
        query = StudyQuery(patient_name=args.patient_name, patient_id=args.patient_id,
                           accession=args.accession, date=_date(args.date),
                           modality=args.modality, description=args.description)
    except ValueError as exc:
        return _fail(str(exc), 2, args.json)
    client, code = _client(args)
    if client is None:
        return code
    try:
        studies = client.find_studies(query, limit=args.limit)
    except PacsError as exc:
        return _fail(str(exc), 1, args.json)
    rows = [f"{s.date or '-':8}  {s.patient_name or '-':24.24}  {s.patient_id or '-':14.14}  "
            f"{'/'.join(s.modalities) or '-':6}  {s.series if s.series is not None else '?':>3} "
            f"series {s.instances if s.instances is not None else '?':>5} inst  {s.study_uid}"
            for s in studies]
    _print({"studies": [s.as_json() for s in studies]}, args.json,
           rows or ["no study matches"])
    return 0


def _get(args) -> int:
    from dataclasses import replace

    from viewer.pacs import DicomNode, PacsError, StudyCache, retrieve_study
    from viewer.pacs.events import Progress, RetrieveResult

    client, code = _client(args)
    if client is None:
        return code
    if args.move:
        if not isinstance(client.node, DicomNode):
            return _fail("--move needs a DICOM node", 2, args.json)
        try:
            client.node = replace(client.node, retrieve="move",
                                  storage_port=args.port or client.node.storage_port)
        except ValueError as exc:
            return _fail(str(exc), 2, args.json)
    try:
        cache = StudyCache(args.cache)
    except PacsError as exc:
        return _fail(str(exc), 1, args.json)
    result = None
    for event in retrieve_study(client, args.study, cache):
        if isinstance(event, Progress) and not args.json and sys.stderr.isatty():
            total = event.total if event.total is not None else "?"
            print(f"\r{event.done}/{total} instances", end="", file=sys.stderr)
        elif isinstance(event, RetrieveResult):
            result = event
    if result is None:  # retrieve_study always ends with its result; say so if it ever did not
        return _fail("the retrieve ended without a result", 1, args.json)
    written = _link_out(cache, args.study, Path(args.out))
    out = {"instances": written, "failed": result.failed, "seconds": round(result.seconds, 3),
           "received": result.received, "complete": result.complete, "error": result.error,
           "problems": list(result.problems), "out": str(args.out)}
    lines = [f"{written} instances in {args.out} ({result.received} fetched now, "
             f"{result.failed} failed) in {result.seconds:.2f} s"]
    lines += [f"problem: {p}" for p in result.problems]
    if result.error:
        lines.append(f"error: {result.error} (what arrived is kept; run again to retry)")
    _print(out, args.json, lines)
    return 0 if result.complete and not result.error and not result.failed else 1


def _link_out(cache, study_uid: str, out: Path) -> int:
    """Put the cached instances into ``out/series-NNN/`` (hard links where possible)."""
    import shutil

    count = 0
    for number, series in enumerate(cache.series_of(study_uid), 1):
        folder = out / f"series-{series.number if series.number is not None else number:03d}"
        for path in cache.paths(study_uid, series.series_uid):
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / path.name
            if not target.exists():
                try:
                    os.link(path, target)
                except OSError:
                    shutil.copy2(path, target)
            count += 1
    return count


def _send(args) -> int:
    from app.pacs.send import audit_send, describe
    from app.session.study_record import default_workspace_dir
    from app.store.audit import AuditLog
    from viewer.pacs import PacsError

    missing = [f for f in args.files if not Path(f).is_file()]
    if missing:
        return _fail(f"no such file: {', '.join(missing)}", 2, args.json)
    client, code = _client(args)
    if client is None:
        return code
    outgoing = describe(args.files)
    try:
        result = client.send(args.files)
    except PacsError as exc:
        return _fail(str(exc), 1, args.json)
    workspace = Path(args.workspace) if args.workspace else default_workspace_dir()
    audit_send(AuditLog(workspace / "audit"), client.node.label, client.protocol, result,
               outgoing)
    lines = [f"sent {len(result.sent)} of {len(args.files)} to {client.node.label}"]
    lines += [f"not sent: {path}: {reason}" for path, reason in result.failed]
    _print(result.as_json(), args.json, lines)
    return 0 if not result.failed else 1


def _nodes(args) -> int:
    from viewer.pacs import DicomNode, NodeBook, WebNode, parse_node

    book = NodeBook()
    change = list(args.change)
    try:
        if change[:1] == ["add"] and len(change) == 3:
            node = parse_node(change[2], our_ae_title=args.aet)
            if isinstance(node, DicomNode):
                node = DicomNode(node.ae_title, node.host, node.port, name=change[1],
                                 our_ae_title=node.our_ae_title, storage_port=args.port,
                                 retrieve=args.retrieve)
            else:
                node = WebNode(node.url, name=change[1], auth=args.auth, username=args.user,
                               ca_bundle=args.ca_bundle)
            book.put(node)
        elif change[:1] == ["remove"] and len(change) == 2:
            if book.get(change[1]) is None:
                return _fail(f"no saved node called {change[1]!r}", 2, args.json)
            book.remove(change[1])
        elif change:
            return _fail("nodes takes: add NAME NODE | remove NAME", 2, args.json)
    except ValueError as exc:
        return _fail(str(exc), 2, args.json)
    from viewer.pacs.nodes import node_to_dict

    _print({"file": str(book.path), "nodes": [node_to_dict(n) for n in book.nodes],
            "problems": book.problems}, args.json,
           [f"{n.name}: {n.url if isinstance(n, DicomNode) else n.base_url}" for n in book.nodes]
           + [f"problem: {p}" for p in book.problems] or [f"no saved nodes ({book.path})"])
    return 0


def _cache(args) -> int:
    from viewer.pacs import PacsError, StudyCache

    try:
        cache = StudyCache(args.cache)
    except PacsError as exc:
        return _fail(str(exc), 1, args.json)
    change = list(args.change)
    if change[:1] == ["purge"] and len(change) <= 2:
        freed = cache.purge(change[1] if len(change) == 2 else None,
                            older_than_days=args.older_than)
        _print({"freed_bytes": freed}, args.json, [f"freed {freed / 2**20:.1f} MB"])
        return 0
    if change:
        return _fail("cache takes: purge [UID] [--older-than DAYS]", 2, args.json)
    studies = cache.studies()
    _print({"cache": str(cache.root), "studies": [
        {"study_uid": s.study_uid, "patient_name": s.patient_name, "date": s.date,
         "instances": s.instances, "complete": s.complete, "bytes": s.size_bytes,
         "node": s.node, "fetched_at": s.fetched_at} for s in studies]}, args.json,
        [f"{s.date or '-':8}  {s.patient_name or '-':24.24}  {s.instances:>5} inst  "
         f"{s.size_bytes / 2**20:8.1f} MB  {'complete' if s.complete else 'partial':8}  "
         f"{s.study_uid}" for s in studies] or [f"the cache at {cache.root} is empty"])
    return 0
