"""The archive's first schema: catalog, audit log, shares and revoked tokens; full-text search and the
audit log's append-only guard, each in its database's own way.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


_REFUSE = "the audit log is append-only"

# Contains-searches (ILIKE '%…%') by trigram, prefix-searches by text_pattern_ops; words by tsvector in a
# Russian and a language-neutral configuration (Kazakh has no PostgreSQL stemmer; 'simple' keeps its words).
POSTGRESQL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_recordings_case_trgm ON recordings USING gin (case_key gin_trgm_ops)",
    "CREATE INDEX ix_recordings_case_prefix ON recordings (case_key text_pattern_ops)",
    "CREATE INDEX ix_recordings_court_trgm ON recordings USING gin (court_key gin_trgm_ops)",
    "CREATE INDEX ix_recordings_courtroom_trgm ON recordings USING gin (courtroom_key gin_trgm_ops)",
    "CREATE INDEX ix_recordings_judge_trgm ON recordings USING gin (judge_key gin_trgm_ops)",
    "CREATE INDEX ix_recording_participants_name_trgm ON recording_participants USING gin (name_key gin_trgm_ops)",
    "ALTER TABLE recording_texts ADD COLUMN tsv tsvector GENERATED ALWAYS AS "
    "(to_tsvector('russian', text) || to_tsvector('simple', text)) STORED",
    "CREATE INDEX ix_recording_texts_tsv ON recording_texts USING gin (tsv)",
    f"""CREATE FUNCTION courtroom_audit_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' AND OLD.seq <= (SELECT COALESCE(MAX(upto_seq), 0) FROM audit_checkpoints) THEN
        RETURN OLD;
      END IF;
      RAISE EXCEPTION '{_REFUSE}';
    END $$""",
    f"""CREATE FUNCTION courtroom_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION '{_REFUSE}';
    END $$""",
    "CREATE TRIGGER audit_log_guard BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION courtroom_audit_guard()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION courtroom_append_only()",
    "CREATE TRIGGER audit_checkpoints_guard BEFORE UPDATE OR DELETE ON audit_checkpoints "
    "FOR EACH ROW EXECUTE FUNCTION courtroom_append_only()",
    "CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints "
    "FOR EACH STATEMENT EXECUTE FUNCTION courtroom_append_only()",
]

# FTS5 over recording_texts (an external-content index kept by triggers); unicode61 folds Cyrillic case.
SQLITE = [
    "CREATE VIRTUAL TABLE recording_texts_fts USING fts5(text, content='recording_texts', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER recording_texts_fts_insert AFTER INSERT ON recording_texts BEGIN "
    "INSERT INTO recording_texts_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER recording_texts_fts_delete AFTER DELETE ON recording_texts BEGIN "
    "INSERT INTO recording_texts_fts(recording_texts_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    f"CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, '{_REFUSE}'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "WHEN old.seq > (SELECT COALESCE(MAX(upto_seq), 0) FROM audit_checkpoints) "
    f"BEGIN SELECT RAISE(ABORT, '{_REFUSE}'); END",
    "CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints "
    f"BEGIN SELECT RAISE(ABORT, '{_REFUSE}'); END",
    "CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints "
    f"BEGIN SELECT RAISE(ABORT, '{_REFUSE}'); END",
]


def upgrade() -> None:
    op.create_table('audit_checkpoints',
    sa.Column('upto_seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('at', sa.Double(), nullable=False),
    sa.Column('removed', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('upto_seq', name=op.f('pk_audit_checkpoints'))
    )
    op.create_table('audit_log',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('at', sa.Double(), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('hearing_id', sa.String(length=64), server_default='', nullable=False),
    sa.Column('actor', sa.Text(), server_default='', nullable=False),
    sa.Column('role', sa.String(length=32), server_default='', nullable=False),
    sa.Column('client', sa.Text(), server_default='', nullable=False),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.Column('node', sa.Text(), server_default='', nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_action', ['action', 'seq'], unique=False)
        batch_op.create_index('ix_audit_log_at', ['at'], unique=False)
        batch_op.create_index('ix_audit_log_hearing', ['hearing_id', 'seq'], unique=False)

    op.create_table('recordings',
    sa.Column('hearing_id', sa.String(length=64), nullable=False),
    sa.Column('case_number', sa.Text(), nullable=False),
    sa.Column('case_key', sa.Text(), nullable=False),
    sa.Column('case_category', sa.Text(), server_default='', nullable=False),
    sa.Column('title', sa.Text(), server_default='', nullable=False),
    sa.Column('court', sa.Text(), server_default='', nullable=False),
    sa.Column('court_key', sa.Text(), server_default='', nullable=False),
    sa.Column('courtroom', sa.Text(), server_default='', nullable=False),
    sa.Column('courtroom_key', sa.Text(), server_default='', nullable=False),
    sa.Column('judge', sa.Text(), server_default='', nullable=False),
    sa.Column('judge_name', sa.Text(), server_default='', nullable=False),
    sa.Column('judge_key', sa.Text(), server_default='', nullable=False),
    sa.Column('opened_at', sa.Double(), nullable=False),
    sa.Column('closed_at', sa.Double(), nullable=True),
    sa.Column('opened_iso', sa.String(length=40), server_default='', nullable=False),
    sa.Column('closed_iso', sa.String(length=40), server_default='', nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('duration', sa.Double(), server_default='0', nullable=False),
    sa.Column('segments', sa.Integer(), server_default='0', nullable=False),
    sa.Column('gaps', sa.Integer(), server_default='0', nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('manifest_sha256', sa.String(length=64), nullable=False),
    sa.Column('last_chain', sa.String(length=64), server_default='', nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('signature_key_id', sa.String(length=32), server_default='', nullable=False),
    sa.Column('integrity_status', sa.String(length=16), server_default='unchecked', nullable=False),
    sa.Column('integrity_checked_at', sa.Double(), nullable=True),
    sa.Column('integrity_checks', sa.Integer(), server_default='0', nullable=False),
    sa.Column('integrity_failures', sa.JSON(), nullable=True),
    sa.Column('retain_until', sa.Double(), nullable=True),
    sa.Column('legal_hold', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('hold_reason', sa.Text(), server_default='', nullable=False),
    sa.Column('hold_by', sa.Text(), server_default='', nullable=False),
    sa.Column('hold_at', sa.Double(), nullable=True),
    sa.Column('deleting_since', sa.Double(), nullable=True),
    sa.Column('deleted_at', sa.Double(), nullable=True),
    sa.Column('deleted_reason', sa.Text(), server_default='', nullable=False),
    sa.Column('indexed_at', sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint('hearing_id', name=op.f('pk_recordings'))
    )
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.create_index('ix_recordings_case', ['case_key'], unique=False)
        batch_op.create_index('ix_recordings_court', ['court_key', 'opened_at'], unique=False)
        batch_op.create_index('ix_recordings_courtroom', ['courtroom_key', 'opened_at'], unique=False)
        batch_op.create_index('ix_recordings_due', ['retain_until'], unique=False)
        batch_op.create_index('ix_recordings_judge', ['judge_key'], unique=False)
        batch_op.create_index('ix_recordings_opened', ['opened_at', 'hearing_id'], unique=False)

    op.create_table('reindex_progress',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('last_key', sa.Text(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_reindex_progress'))
    )
    op.create_table('revoked_tokens',
    sa.Column('token_id', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.Double(), nullable=False),
    sa.Column('revoked_at', sa.Double(), nullable=False),
    sa.PrimaryKeyConstraint('token_id', name=op.f('pk_revoked_tokens'))
    )
    with op.batch_alter_table('revoked_tokens', schema=None) as batch_op:
        batch_op.create_index('ix_revoked_tokens_expires', ['expires_at'], unique=False)

    op.create_table('shares',
    sa.Column('share_id', sa.String(length=64), nullable=False),
    sa.Column('hearing_id', sa.String(length=64), nullable=False),
    sa.Column('recipient', sa.Text(), nullable=False),
    sa.Column('made_by', sa.Text(), nullable=False),
    sa.Column('made_at', sa.Double(), nullable=False),
    sa.Column('expires_at', sa.Double(), nullable=False),
    sa.Column('revoked_at', sa.Double(), nullable=True),
    sa.Column('revoked_by', sa.Text(), server_default='', nullable=False),
    sa.PrimaryKeyConstraint('share_id', name=op.f('pk_shares'))
    )
    with op.batch_alter_table('shares', schema=None) as batch_op:
        batch_op.create_index('ix_shares_hearing', ['hearing_id', 'made_at'], unique=False)

    op.create_table('verifications',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('hearing_id', sa.String(length=64), nullable=False),
    sa.Column('at', sa.Double(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('checks', sa.Integer(), nullable=False),
    sa.Column('failures', sa.JSON(), nullable=False),
    sa.Column('actor', sa.Text(), server_default='', nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verifications'))
    )
    with op.batch_alter_table('verifications', schema=None) as batch_op:
        batch_op.create_index('ix_verifications_hearing', ['hearing_id', 'at'], unique=False)

    op.create_table('recording_participants',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('hearing_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('name_key', sa.Text(), nullable=False),
    sa.Column('role', sa.String(length=32), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['hearing_id'], ['recordings.hearing_id'],
                            name=op.f('fk_recording_participants_hearing_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recording_participants'))
    )
    with op.batch_alter_table('recording_participants', schema=None) as batch_op:
        batch_op.create_index('ix_recording_participants_hearing', ['hearing_id'], unique=False)
        batch_op.create_index('ix_recording_participants_name', ['name_key'], unique=False)

    op.create_table('recording_texts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('hearing_id', sa.String(length=64), nullable=False),
    sa.Column('offset', sa.Double(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['hearing_id'], ['recordings.hearing_id'],
                            name=op.f('fk_recording_texts_hearing_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recording_texts'))
    )
    with op.batch_alter_table('recording_texts', schema=None) as batch_op:
        batch_op.create_index('ix_recording_texts_hearing', ['hearing_id'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRESQL:
            op.execute(statement)
    else:
        for statement in SQLITE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS courtroom_audit_guard() CASCADE")
        op.execute("DROP FUNCTION IF EXISTS courtroom_append_only() CASCADE")
    else:
        op.execute("DROP TABLE IF EXISTS recording_texts_fts")
    with op.batch_alter_table('recording_texts', schema=None) as batch_op:
        batch_op.drop_index('ix_recording_texts_hearing')

    op.drop_table('recording_texts')
    with op.batch_alter_table('recording_participants', schema=None) as batch_op:
        batch_op.drop_index('ix_recording_participants_name')
        batch_op.drop_index('ix_recording_participants_hearing')

    op.drop_table('recording_participants')
    with op.batch_alter_table('verifications', schema=None) as batch_op:
        batch_op.drop_index('ix_verifications_hearing')

    op.drop_table('verifications')
    with op.batch_alter_table('shares', schema=None) as batch_op:
        batch_op.drop_index('ix_shares_hearing')

    op.drop_table('shares')
    with op.batch_alter_table('revoked_tokens', schema=None) as batch_op:
        batch_op.drop_index('ix_revoked_tokens_expires')

    op.drop_table('revoked_tokens')
    op.drop_table('reindex_progress')
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.drop_index('ix_recordings_opened')
        batch_op.drop_index('ix_recordings_judge')
        batch_op.drop_index('ix_recordings_due')
        batch_op.drop_index('ix_recordings_courtroom')
        batch_op.drop_index('ix_recordings_court')
        batch_op.drop_index('ix_recordings_case')

    op.drop_table('recordings')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_hearing')
        batch_op.drop_index('ix_audit_log_at')
        batch_op.drop_index('ix_audit_log_action')

    op.drop_table('audit_log')
    op.drop_table('audit_checkpoints')
