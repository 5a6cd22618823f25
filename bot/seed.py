"""Bringing the database up to date with the files: schema, school, articles, local offer.

Idempotent, so `make run` runs it on every start and a school runs `bot.cli reload`
after editing a file: the change is answerable at once, with no retraining.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from knowledge.parents.articles import ARTICLE, load_article_files, load_product_content, sync_articles
from knowledge.parents.local_offer_import import import_oruk_file, services_per_dataset
from knowledge.schools.calendar import SchoolCalendar, read_calendar_file
from knowledge.schools.deployment import DeploymentError, SchoolSource, check_ref, load_deployment
from knowledge.schools.profile import SchoolProfile, load_profile_file, store_profile
from knowledge.schools.staff import load_roster, sync_roster
from knowledge.schools.tenancy import NO_LOCAL_OFFER, sync_routes
from knowledge.shared.db import unit_of_work
from knowledge.shared.migrate import upgrade
from knowledge.shared.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class LoadReport:
    school: str = ""
    schools: int = 1
    product_articles: int = 0
    product_answers: int = 0
    school_articles: int = 0
    services: int = 0
    staff: int = 0
    skipped_services: list[str] = field(default_factory=list)
    # dataset -> services, for local offers no configured file holds (see `_unlisted_lines`)
    unlisted_datasets: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        lines = [
            f"school: {self.school}"
            if self.schools == 1
            else f"schools: {self.schools} ({self.school}, ...)",
            f"articles: {self.product_articles} SEND articles and {self.product_answers} answers, "
            f"{self.school_articles} from the school" + ("" if self.schools == 1 else "s"),
            f"local offer: {self.services} services",
            f"staff: {self.staff} on the roster" + ("" if self.schools == 1 else "s"),
        ]
        lines += [f"  skipped: {reason}" for reason in self.skipped_services]
        return lines + self._unlisted_lines()

    def _unlisted_lines(self) -> list[str]:
        """A local offer left from a file no longer configured (or imported by hand) is
        still answered in a one-school deployment: say so, and how to remove it."""
        seen = "its services are still answered" if self.schools == 1 else "no school's parents see it"
        return [
            f"  local offer '{dataset}' ({count} services) is from no configured file; {seen}. "
            f"Remove it with: python -m bot.cli remove-local-offer {dataset}"
            for dataset, count in sorted(self.unlisted_datasets.items())
        ]


def load_everything(settings: Settings) -> LoadReport:
    """Migrate the schema, then load every school's files and the shared content in one transaction."""
    upgrade(settings.database_url)
    deployment = load_deployment(settings)
    product = load_product_content(settings.content_dir)
    sources = [(source, load_profile_file(source.profile)) for source in deployment.schools]
    refs = [profile.ref for _, profile in sources]
    if len(set(refs)) != len(refs):
        raise DeploymentError(f"two schools share a ref: {sorted(r for r in refs if refs.count(r) > 1)[0]}")
    report = LoadReport(school=sources[0][1].name, schools=len(sources))
    with unit_of_work(settings.database_url) as session:
        sync_articles(session, product, origin="product", school_ref=None)
        report.product_articles = sum(spec.kind == ARTICLE for spec in product)
        report.product_answers = len(product) - report.product_articles
        for source, profile in sources:
            if deployment.several:
                check_ref(profile.ref, source.profile.name)
            _load_school(session, source, profile, deployment.several, report)
        for path in deployment.local_offers:
            if not path.exists():
                log.warning("no local offer file at %s", path)
                continue
            imported = import_oruk_file(session, path)
            report.services += imported.imported
            report.skipped_services += imported.skipped
        configured = deployment.local_offer_datasets
        in_database = services_per_dataset(session)
        report.unlisted_datasets = {ds: n for ds, n in in_database.items() if ds not in configured}
    return report


def _load_school(
    session: Session, source: SchoolSource, profile: SchoolProfile, several: bool, report: LoadReport
) -> None:
    school = store_profile(session, profile)
    if several:
        school.local_offer_dataset = source.local_offer_dataset or NO_LOCAL_OFFER
    else:
        school.local_offer_dataset = None
    school.calendar = read_calendar_file(source.calendar) if source.calendar else None
    if school.calendar is not None:
        SchoolCalendar.from_dict(school.calendar, source=source.calendar.name)  # fail on a bad file now
    if source.articles is not None:
        own = load_article_files(source.articles)
        report.school_articles += sync_articles(session, own, origin="school", school_ref=profile.ref)
    if source.staff is not None and source.staff.exists():
        report.staff += sync_roster(session, profile.ref, load_roster(source.staff))
    sync_routes(session, profile.ref, slack_teams=source.slack_teams, slack_channels=source.slack_channels)
