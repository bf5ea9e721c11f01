"""live sessions and their participants, so a session outlives its server instance

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('live_sessions',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('title_enc', sa.LargeBinary(), nullable=False),
    sa.Column('counselor_digest', sa.LargeBinary(length=32), nullable=False),
    sa.Column('invite_digest', sa.LargeBinary(length=32), nullable=False),
    sa.Column('invite_token_enc', sa.LargeBinary(), nullable=False),
    sa.Column('invite_expires_at', sa.Float(), nullable=False),
    sa.Column('max_participants', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('owner', sa.String(length=120), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('counselor_digest'),
    sa.UniqueConstraint('invite_digest')
    )
    with op.batch_alter_table('live_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_sessions_owner'), ['owner'], unique=False)

    op.create_table('live_participants',
    sa.Column('session_id', sa.String(length=32), nullable=False),
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('name_enc', sa.LargeBinary(), nullable=False),
    sa.Column('resume_digest', sa.LargeBinary(length=32), nullable=False),
    sa.Column('previous_resume_digest', sa.LargeBinary(length=32), nullable=True),
    sa.Column('presence', sa.String(length=16), nullable=False),
    sa.Column('epoch', sa.Integer(), nullable=False),
    sa.Column('consent', sa.String(length=16), nullable=False),
    sa.Column('consent_version', sa.String(length=40), nullable=True),
    sa.Column('consent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['live_sessions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', 'id')
    )


def downgrade() -> None:
    op.drop_table('live_participants')
    with op.batch_alter_table('live_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_live_sessions_owner'))
    op.drop_table('live_sessions')
