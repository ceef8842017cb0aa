-- Alert pipeline: alerts and their timeline, silences, notification
-- channels and people's contact methods, duty schedules, escalation chains,
-- and the notification outbox.
CREATE TABLE alerts (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    source             TEXT NOT NULL,
    kind               TEXT NOT NULL,
    severity           TEXT NOT NULL,
    dedup_key          TEXT NOT NULL,
    asset_id           INTEGER REFERENCES assets(id) ON DELETE SET NULL,
    agency_id          INTEGER REFERENCES agencies(id) ON DELETE SET NULL,
    agency_path        TEXT NOT NULL DEFAULT '',
    title              TEXT NOT NULL,
    details            TEXT NOT NULL DEFAULT '',
    evidence           TEXT NOT NULL DEFAULT '[]',
    labels             TEXT NOT NULL DEFAULT '{}',
    state              TEXT NOT NULL,
    flapping           BOOLEAN NOT NULL DEFAULT FALSE,
    count              INTEGER NOT NULL DEFAULT 1,
    first_seen         TIMESTAMP NOT NULL,
    last_seen          TIMESTAMP NOT NULL,
    acked_by           TEXT NOT NULL DEFAULT '',
    acked_at           TIMESTAMP,
    resolved_by        TEXT NOT NULL DEFAULT '',
    resolved_at        TIMESTAMP,
    silence_id         INTEGER,
    chain_id           INTEGER,
    esc_step           INTEGER NOT NULL DEFAULT 0,
    esc_round          INTEGER NOT NULL DEFAULT 0,
    esc_generation     INTEGER NOT NULL DEFAULT 0,
    next_escalation_at TIMESTAMP,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);
-- At most one unresolved alert per source and key: the dedup guard.
CREATE UNIQUE INDEX alerts_open_key ON alerts(source, dedup_key) WHERE state <> 'resolved';
CREATE INDEX alerts_key ON alerts(source, dedup_key, resolved_at);
CREATE INDEX alerts_state ON alerts(state, severity);
CREATE INDEX alerts_escalation ON alerts(next_escalation_at) WHERE next_escalation_at IS NOT NULL;
CREATE INDEX alerts_agency ON alerts(agency_path);

CREATE TABLE alert_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id   INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    at         TIMESTAMP NOT NULL,
    type       TEXT NOT NULL,
    actor      TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX alert_events_alert ON alert_events(alert_id, id);

CREATE TABLE silences (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    asset_id   INTEGER REFERENCES assets(id) ON DELETE CASCADE,
    agency_id  INTEGER REFERENCES agencies(id) ON DELETE CASCADE,
    agency_path TEXT NOT NULL DEFAULT '',
    kind       TEXT NOT NULL DEFAULT '',
    tag        TEXT NOT NULL DEFAULT '',
    starts_at  TIMESTAMP NOT NULL,
    ends_at    TIMESTAMP NOT NULL,
    comment    TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX silences_ends ON silences(ends_at);

CREATE TABLE channels (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    config     TEXT NOT NULL,
    enabled    BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- How to reach a person: a channel and their address on it (e-mail
-- address, Telegram chat ID). Group channels (webhook, Slack) need none.
CREATE TABLE contact_methods (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    channel_id INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    address    TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    UNIQUE (user_id, channel_id, address)
);

CREATE TABLE schedules (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE,
    definition TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE escalation_chains (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT NOT NULL UNIQUE,
    priority       INTEGER NOT NULL DEFAULT 0,
    severities     TEXT NOT NULL DEFAULT '',
    kinds          TEXT NOT NULL DEFAULT '',
    agency_id      INTEGER REFERENCES agencies(id) ON DELETE CASCADE,
    agency_path    TEXT NOT NULL DEFAULT '',
    definition     TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);

-- Every notification is written here in the transaction that decides it,
-- then sent by the outbox worker. dedup_key makes "this step, this person,
-- this channel" happen once however often the decision is replayed.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    dedup_key       TEXT NOT NULL UNIQUE,
    alert_id        INTEGER REFERENCES alerts(id) ON DELETE CASCADE,
    channel_id      INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    group_key       TEXT NOT NULL DEFAULT '',
    recipient       TEXT NOT NULL,
    message         TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_until     TIMESTAMP,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP
);
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);

-- Inbound alert sources (Alertmanager, Zabbix, generic JSON), each with its
-- own token, stored hashed.
CREATE TABLE alert_sources (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    agency_id  INTEGER REFERENCES agencies(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);

-- Server-wide settings and keys (e.g. the key that signs acknowledgement links).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
