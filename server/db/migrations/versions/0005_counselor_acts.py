"""transcript rows keep the counselor act their sentence was coded as (the review's listening summary)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('transcript_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('counselor_act', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('transcript_lines', schema=None) as batch_op:
        batch_op.drop_column('counselor_act')
