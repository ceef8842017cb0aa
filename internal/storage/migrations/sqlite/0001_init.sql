-- Core model: agencies (tree), users, sessions, API tokens, assets, audit log.
CREATE TABLE agencies (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    parent_id   INTEGER REFERENCES agencies(id),
    name        TEXT NOT NULL,
    code        TEXT NOT NULL DEFAULT '',
    kind        TEXT NOT NULL,
    path        TEXT NOT NULL DEFAULT '',
    search      TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX agencies_path ON agencies(path);
CREATE INDEX agencies_parent ON agencies(parent_id);

CREATE TABLE users (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    username             TEXT NOT NULL UNIQUE,
    display_name         TEXT NOT NULL DEFAULT '',
    email                TEXT NOT NULL DEFAULT '',
    role                 TEXT NOT NULL,
    agency_id            INTEGER REFERENCES agencies(id),
    language             TEXT NOT NULL DEFAULT 'vi',
    theme                TEXT NOT NULL DEFAULT 'light',
    disabled             BOOLEAN NOT NULL DEFAULT FALSE,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    password_hash        TEXT NOT NULL,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL,
    last_login_at        TIMESTAMP
);

CREATE TABLE sessions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash  TEXT NOT NULL UNIQUE,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token  TEXT NOT NULL,
    ip          TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL DEFAULT '',
    prefix       TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP,
    last_used_at TIMESTAMP
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE assets (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id      INTEGER NOT NULL REFERENCES agencies(id),
    kind           TEXT NOT NULL,
    name           TEXT NOT NULL,
    address        TEXT NOT NULL DEFAULT '',
    security_level INTEGER NOT NULL DEFAULT 1,
    tags           TEXT NOT NULL DEFAULT '',
    contact_name   TEXT NOT NULL DEFAULT '',
    contact_email  TEXT NOT NULL DEFAULT '',
    contact_phone  TEXT NOT NULL DEFAULT '',
    description    TEXT NOT NULL DEFAULT '',
    search         TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    UNIQUE (agency_id, name)
);
CREATE INDEX assets_agency ON assets(agency_id);

CREATE TABLE audit_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            TIMESTAMP NOT NULL,
    actor_id      INTEGER,
    actor_name    TEXT NOT NULL,
    action        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   INTEGER NOT NULL,
    agency_id     INTEGER,
    ip            TEXT NOT NULL DEFAULT '',
    before_json   TEXT,
    after_json    TEXT
);
CREATE INDEX audit_events_at ON audit_events(at);
CREATE INDEX audit_events_agency ON audit_events(agency_id);
