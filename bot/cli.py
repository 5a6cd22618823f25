"""Command line for running and looking after the bot.

python -m bot.cli setup                 # migrate the database and load every content file
python -m bot.cli reload                # the same, after editing an article, profile or local offer
python -m bot.cli train [--force]       # train the Rasa model if its inputs changed
python -m bot.cli import-local-offer FILE [--dataset NAME]
python -m bot.cli export-local-offer [--dataset NAME] [-o FILE]
python -m bot.cli remove-local-offer NAME   # a dataset no configured file holds any more
python -m bot.cli check-content         # readability and source checks for articles
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from knowledge.shared.settings import get_settings


def _setup(_args: argparse.Namespace) -> int:
    from bot.seed import load_everything

    report = load_everything(get_settings())
    print("Database ready: " + "; ".join(report.lines()))
    return 0


def _train(args: argparse.Namespace) -> int:
    from bot.training import train

    train(force=args.force)
    return 0


def _import(args: argparse.Namespace) -> int:
    from knowledge.parents.local_offer_import import import_oruk_file
    from knowledge.shared.db import unit_of_work
    from knowledge.shared.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url)
    with unit_of_work(settings.database_url) as session:
        report = import_oruk_file(session, Path(args.file), args.dataset)
    print(f"Imported {report.imported} services into dataset '{report.dataset}'.")
    for reason in report.skipped:
        print(f"  skipped: {reason}")
    return 0


def _remove(args: argparse.Namespace) -> int:
    from knowledge.parents.local_offer_import import remove_dataset, services_per_dataset
    from knowledge.schools.deployment import load_deployment
    from knowledge.shared.db import unit_of_work
    from knowledge.shared.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database_url)
    if args.dataset in load_deployment(settings).local_offer_datasets:
        print(
            f"'{args.dataset}' is the local offer file your settings name, so setup would load it "
            "again. Point the setting at another file first.",
            file=sys.stderr,
        )
        return 1
    with unit_of_work(settings.database_url) as session:
        known = services_per_dataset(session)
        if args.dataset not in known:
            listed = ", ".join(sorted(known)) or "none"
            print(f"There is no local offer called '{args.dataset}' (there are: {listed}).", file=sys.stderr)
            return 1
        removed = remove_dataset(session, args.dataset)
    print(f"Removed the {removed} services of local offer '{args.dataset}'.")
    return 0


def _export(args: argparse.Namespace) -> int:
    from knowledge.parents.local_offer import export_oruk
    from knowledge.shared.db import unit_of_work

    with unit_of_work(get_settings().database_url) as session:
        document = export_oruk(session, args.dataset)
    text = json.dumps(document, indent=2, ensure_ascii=False)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
        print(f"Wrote {document['total_items']} services to {args.output}")
    else:
        print(text)
    return 0


def _check_content(_args: argparse.Namespace) -> int:
    from knowledge.parents.articles import load_article_files
    from knowledge.text.readability import grade_level

    settings = get_settings()
    problems = 0
    content = settings.content_dir
    for folder in (content / "articles", content / "answers", settings.school_articles_dir):
        for spec in load_article_files(folder):
            grade = grade_level(spec.summary)
            flag = "  <- hard to read" if grade > 9 else ""
            problems += bool(flag)
            print(f"{spec.slug:40} grade {grade:4.1f}{flag}")
    return 1 if problems else 0


def _safeguarding(args: argparse.Namespace) -> int:
    from knowledge.safeguarding import records

    url = get_settings().database_url
    try:
        if args.action == "list":
            views = records.list_records(url, args.who, open_only=args.open, school_ref=args.school)
            if not views:
                print("No safeguarding records.")
            for view in views:
                state = f"acknowledged by {view.acknowledged_by}" if view.acknowledged_by else "OPEN"
                if view.sender_answer == "no" and not view.acknowledged_by:
                    state = "the sender said no child is at risk (not alerted)"
                when = f"{view.created_at:%Y-%m-%d %H:%M} UTC"
                print(f"#{view.id}  {when}  {view.channel:8} {view.kinds:30} {state}")
            return 0
        if args.id is None:
            print("Give the record number, e.g. `safeguarding show 3 --as 'Mr B. Example'`.", file=sys.stderr)
            return 2
        if args.action == "show":
            view = records.show_record(url, args.id, args.who, args.school)
        else:
            view = records.acknowledge(url, args.id, args.who, args.school)
            print(f"Record #{view.id} acknowledged by {view.acknowledged_by}.")
            return 0
    except records.NotTheDSL as refusal:
        print(refusal, file=sys.stderr)
        return 3
    except LookupError as missing:
        print(missing, file=sys.stderr)
        return 4
    print(f"Safeguarding record #{view.id}")
    print(f"  received:  {view.created_at:%Y-%m-%d %H:%M:%S} UTC via {view.channel}")
    print(f"  sender:    {view.sender_ref} (reference, not the person's id)")
    print(f"  detected:  {view.kinds or 'nlu'} ({view.detected_by})")
    print(f"  writer:    {'may be a child' if view.child_voice else 'adult or unclear'}")
    print(f"  status:    {'acknowledged by ' + view.acknowledged_by if view.acknowledged_by else 'OPEN'}")
    print("  message, verbatim:")
    print("    " + view.message.replace("\n", "\n    "))
    return 0


def _purge(args: argparse.Namespace) -> int:
    import dataclasses
    import datetime as dt

    from knowledge.privacy.rights import purge_chat_logs

    settings = get_settings()
    if args.days is not None:
        settings = dataclasses.replace(settings, chat_log_retention_days=args.days)
    deleted = purge_chat_logs(settings, dt.datetime.now(dt.timezone.utc))
    print(
        f"Deleted {deleted} conversation events older than {settings.chat_log_retention_days} days. "
        "Safeguarding records are kept."
    )
    return 0


def _unanswered(args: argparse.Namespace) -> int:
    """The SEND questions the bot had no reliable answer to, so the school can add answers."""
    import datetime as dt

    from knowledge.parents.unanswered import recent

    settings = get_settings()
    days = settings.chat_log_retention_days
    questions = recent(
        settings.database_url, now=dt.datetime.now(dt.timezone.utc), days=days, school_ref=args.school
    )
    if not questions:
        print(f"No unanswered questions in the last {days} days.")
        return 0
    print(f"{len(questions)} unanswered question(s) in the last {days} days, newest first:")
    for q in questions:
        where = f"{q.channel}" + (f", {q.school_ref}" if q.school_ref else "")
        topic = f" [{q.topic_guess}]" if q.topic_guess else ""
        print(f"{q.asked_at:%Y-%m-%d %H:%M} ({where}){topic}: {q.text}")
    print("Add an answer in school_data/articles/ (an entry with questions:), then: python -m bot.cli reload")
    return 0


def _privacy(args: argparse.Namespace) -> int:
    from knowledge.privacy.conversations import erase_conversation, export_conversation, senders_for
    from knowledge.shared.settings import tracker_store_url

    url = tracker_store_url(get_settings())
    senders = senders_for(url, args.sender)
    if not senders:
        print(f"No conversation found for {args.sender}.", file=sys.stderr)
        return 4
    for sender in senders:
        if args.action == "export":
            lines = export_conversation(url, sender)
            print(
                json.dumps([{"at": x.at.isoformat(), "who": x.who, "text": x.text} for x in lines], indent=2)
            )
        else:
            print(
                f"Deleted {erase_conversation(url, sender)} events. Safeguarding records are kept by the DSL."
            )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.cli", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("setup", help="migrate the database and load content").set_defaults(run=_setup)
    commands.add_parser("reload", help="reload content files into the database").set_defaults(run=_setup)
    train = commands.add_parser("train", help="train the Rasa model if needed")
    train.add_argument("--force", action="store_true")
    train.set_defaults(run=_train)
    imp = commands.add_parser("import-local-offer", help="import an Open Referral UK JSON file")
    imp.add_argument("file")
    imp.add_argument("--dataset")
    imp.set_defaults(run=_import)
    exp = commands.add_parser("export-local-offer", help="export the local offer as ORUK JSON")
    exp.add_argument("--dataset")
    exp.add_argument("-o", "--output")
    exp.set_defaults(run=_export)
    rem = commands.add_parser("remove-local-offer", help="remove a local offer no configured file holds")
    rem.add_argument("dataset")
    rem.set_defaults(run=_remove)
    commands.add_parser("check-content", help="readability of article summaries").set_defaults(
        run=_check_content
    )
    guard = commands.add_parser("safeguarding", help="safeguarding records (the DSL and deputy only)")
    guard.add_argument("action", choices=["list", "show", "ack"])
    guard.add_argument("id", nargs="?", type=int)
    guard.add_argument("--as", dest="who", required=True, help="your name as in the school profile")
    guard.add_argument("--open", action="store_true", help="list only records not yet acknowledged")
    guard.add_argument("--school", help="your school's ref (needed when the bot serves several schools)")
    guard.set_defaults(run=_safeguarding)
    purge = commands.add_parser("purge", help="delete conversations past the retention period")
    purge.add_argument("--days", type=int, help="override CHAT_LOG_RETENTION_DAYS")
    purge.set_defaults(run=_purge)
    unanswered = commands.add_parser(
        "unanswered", help="SEND questions with no reliable answer, last CHAT_LOG_RETENTION_DAYS days"
    )
    unanswered.add_argument("--school", help="one school's ref (in a trust)")
    unanswered.set_defaults(run=_unanswered)
    rights = commands.add_parser("privacy", help="export or erase one family's conversation")
    rights.add_argument("action", choices=["export", "erase"])
    rights.add_argument("sender", help="a sender id, or the 12-character reference shown in logs")
    rights.set_defaults(run=_privacy)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
