"""transcript rows are sentences: their words with times, the cue's sentence, the record's transcript version

Records made before (version 1, one row per caption fragment) are joined into sentences when the server
starts (server/records/upgrade.py): that needs the data key, which migrations do not have.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('transcript_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('words_enc', sa.LargeBinary(), nullable=True))
    with op.batch_alter_table('cues', schema=None) as batch_op:
        batch_op.add_column(sa.Column('line_id', sa.Integer(), nullable=True))
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transcript_version', sa.Integer(), server_default='1', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_column('transcript_version')
    with op.batch_alter_table('cues', schema=None) as batch_op:
        batch_op.drop_column('line_id')
    with op.batch_alter_table('transcript_lines', schema=None) as batch_op:
        batch_op.drop_column('words_enc')
