"""answers: specific answers beside the overview articles, and unanswered questions

Articles gain `kind` ("article" | "answer"), `questions` (the ways people ask an answer's
question) and `audience` (all | parents | staff). `unanswered_questions` keeps, without the
sender, the SEND questions the bot had no reliable answer to (purged with the chat logs).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 09:40:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = "0012"
down_revision: Union[str, None] = "0011"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="article"))
        batch.add_column(sa.Column("questions", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("audience", sa.String(length=16), nullable=False, server_default="all"))
        batch.create_index("ix_articles_kind", ["kind"])
    op.create_table(
        "unanswered_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_ref", sa.String(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("topic_guess", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_unanswered_questions_school_ref", "unanswered_questions", ["school_ref"])
    op.create_index("ix_unanswered_questions_asked_at", "unanswered_questions", ["asked_at"])


def downgrade() -> None:
    op.drop_index("ix_unanswered_questions_asked_at", table_name="unanswered_questions")
    op.drop_index("ix_unanswered_questions_school_ref", table_name="unanswered_questions")
    op.drop_table("unanswered_questions")
    with op.batch_alter_table("articles") as batch:
        batch.drop_index("ix_articles_kind")
        batch.drop_column("audience")
        batch.drop_column("questions")
        batch.drop_column("kind")
