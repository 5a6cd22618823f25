"""Bringing the database up to date with the files: schema, school, articles, local offer.

Idempotent, so `make run` runs it on every start and a school runs `bot.cli reload`
after editing a file: the change is answerable at once, with no retraining.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bot.settings import Settings
from knowledge.articles import load_article_files, sync_articles
from knowledge.db import unit_of_work
from knowledge.local_offer import import_oruk_file
from knowledge.migrate import upgrade
from knowledge.school_profile import load_profile_file, store_profile
from knowledge.staff import load_roster, sync_roster

log = logging.getLogger(__name__)


@dataclass
class LoadReport:
    school: str = ""
    product_articles: int = 0
    school_articles: int = 0
    services: int = 0
    staff: int = 0
    skipped_services: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        lines = [
            f"school: {self.school}",
            f"articles: {self.product_articles} SEND articles, {self.school_articles} from the school",
            f"local offer: {self.services} services",
            f"staff: {self.staff} on the roster",
        ]
        lines += [f"  skipped: {reason}" for reason in self.skipped_services]
        return lines


def load_everything(settings: Settings) -> LoadReport:
    """Migrate the schema, then load every content file in one transaction."""
    upgrade(settings.database_url)
    profile = load_profile_file(settings.school_profile)
    product = load_article_files(settings.content_dir / "articles")
    school_own = load_article_files(settings.school_articles_dir)
    report = LoadReport(school=profile.name)
    with unit_of_work(settings.database_url) as session:
        store_profile(session, profile)
        report.product_articles = sync_articles(session, product, origin="product", school_ref=None)
        report.school_articles = sync_articles(session, school_own, origin="school", school_ref=profile.ref)
        if settings.staff_roster.exists():
            report.staff = sync_roster(session, profile.ref, load_roster(settings.staff_roster))
        if settings.local_offer_file.exists():
            imported = import_oruk_file(session, settings.local_offer_file)
            report.services = imported.imported
            report.skipped_services = imported.skipped
        else:
            log.warning("no local offer file at %s", settings.local_offer_file)
    return report
