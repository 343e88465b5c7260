"""the staff console: accounts, sessions, the audit record, name search, contact corrections

Revision ID: 0010
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op


revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.create_table(
        "console_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_users")),
        sa.UniqueConstraint("name", name=op.f("uq_console_users_name")),
    )
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["console_users.id"],
            name=op.f("fk_console_sessions_user_id_console_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_sessions")),
    )
    op.create_index(op.f("ix_console_sessions_user_id"), "console_sessions", ["user_id"])
    op.create_table(
        "staff_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_staff_audit_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_audit")),
    )
    op.create_index(op.f("ix_staff_audit_at"), "staff_audit", ["at"])
    op.create_index(
        op.f("ix_staff_audit_actor_action_at"), "staff_audit", ["actor", "action", "at"]
    )
    op.create_index(
        op.f("ix_staff_audit_address_action_at"), "staff_audit", ["address", "action", "at"]
    )
    if not sqlite:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "people_search",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("name_key", sa.Text(), nullable=False),
        sa.Column("source_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_people_search_person_id_people")
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_people_search")),
    )
    op.create_index(op.f("ix_people_search_source_at"), "people_search", ["source_at"])
    op.create_index(
        op.f("ix_people_search_name_key"), "people_search", ["name_key"],
        postgresql_using="gin", postgresql_ops={"name_key": "gin_trgm_ops"},
    )
    if sqlite:
        op.execute("CREATE VIRTUAL TABLE people_fts USING fts5(name_key, tokenize='trigram')")
    op.create_table(
        "contact_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=20), nullable=False),
        sa.Column("replaced", sa.String(length=20), nullable=True),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("dropped_at", sa.DateTime(), nullable=True),
        sa.Column("dropped_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_contact_corrections_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_corrections")),
    )
    op.create_index(
        op.f("ix_contact_corrections_person_id"), "contact_corrections", ["person_id"]
    )
    op.create_index("ix_people_passport_number", "people", ["passport_number"])
    op.create_index("ix_people_updated_at", "people", ["updated_at"])


def downgrade() -> None:
    for name in ("updated_at", "passport_number"):  # phone, whatsapp: 0012's
        op.drop_index(f"ix_people_{name}", table_name="people")
    op.drop_table("contact_corrections")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE people_fts")
    op.drop_table("people_search")
    op.drop_table("staff_audit")
    op.drop_table("console_sessions")
    op.drop_table("console_users")
