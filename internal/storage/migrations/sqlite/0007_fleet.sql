-- Endpoint agents: enrollment tokens, enrolled agents (each also an asset
-- of its agency), their uploaded events (deduplicated by sequence number),
-- signed tasks, and the software inventory with its history of changes.
CREATE TABLE enrollment_tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id   BIGINT NOT NULL REFERENCES agencies(id),
    agency_path TEXT NOT NULL,
    name        TEXT NOT NULL DEFAULT '',
    prefix      TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    max_uses    INTEGER NOT NULL DEFAULT 1,
    uses        INTEGER NOT NULL DEFAULT 0,
    expires_at  TIMESTAMP NOT NULL,
    revoked_at  TIMESTAMP,
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX enrollment_tokens_agency ON enrollment_tokens(agency_path);

CREATE TABLE agents (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id      BIGINT NOT NULL REFERENCES agencies(id),
    agency_path    TEXT NOT NULL,
    asset_id       BIGINT REFERENCES assets(id) ON DELETE SET NULL,
    machine_id     TEXT NOT NULL,
    hostname       TEXT NOT NULL DEFAULT '',
    os_name        TEXT NOT NULL DEFAULT '',
    os_version     TEXT NOT NULL DEFAULT '',
    arch           TEXT NOT NULL DEFAULT '',
    version        TEXT NOT NULL DEFAULT '',
    secret_hash    TEXT NOT NULL UNIQUE,
    token_id       BIGINT,
    enrolled_at    TIMESTAMP NOT NULL,
    last_seen_at   TIMESTAMP,
    last_ip        TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL DEFAULT '{}',
    revoked_at     TIMESTAMP,
    revoked_by     TEXT NOT NULL DEFAULT '',
    replaced_by    BIGINT,
    inventory_hash TEXT NOT NULL DEFAULT '',
    packages       INTEGER NOT NULL DEFAULT 0,
    host           TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX agents_agency ON agents(agency_path);
CREATE INDEX agents_machine ON agents(machine_id);

CREATE TABLE agent_events (
    agent_id    BIGINT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    seq         BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    at          TIMESTAMP NOT NULL,
    received_at TIMESTAMP NOT NULL,
    data        TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (agent_id, seq)
);

CREATE TABLE agent_tasks (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id     BIGINT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL DEFAULT '{}',
    signature    TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'queued',
    created_by   TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    deadline     TIMESTAMP NOT NULL,
    sent_at      TIMESTAMP,
    finished_at  TIMESTAMP,
    result       TEXT NOT NULL DEFAULT '',
    error        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX agent_tasks_queue ON agent_tasks(agent_id, state);

CREATE TABLE agent_packages (
    agent_id       BIGINT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    ecosystem      TEXT NOT NULL,
    name           TEXT NOT NULL,
    arch           TEXT NOT NULL DEFAULT '',
    version        TEXT NOT NULL,
    source_name    TEXT NOT NULL DEFAULT '',
    source_version TEXT NOT NULL DEFAULT '',
    origin         TEXT NOT NULL DEFAULT '',
    -- rpm keeps several versions of install-only packages (kernels).
    PRIMARY KEY (agent_id, ecosystem, name, arch, version)
);
CREATE INDEX agent_packages_name ON agent_packages(name, ecosystem);

CREATE TABLE agent_changes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id    BIGINT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    at          TIMESTAMP NOT NULL,
    change      TEXT NOT NULL,
    ecosystem   TEXT NOT NULL,
    name        TEXT NOT NULL,
    arch        TEXT NOT NULL DEFAULT '',
    old_version TEXT NOT NULL DEFAULT '',
    new_version TEXT NOT NULL DEFAULT ''
);
CREATE INDEX agent_changes_agent ON agent_changes(agent_id, at);
