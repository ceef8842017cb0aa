-- Website monitors, their current state, and per-day availability.
CREATE TABLE monitors (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    agency_id        INTEGER NOT NULL REFERENCES agencies(id),
    agency_path      TEXT NOT NULL,
    asset_id         INTEGER REFERENCES assets(id) ON DELETE SET NULL,
    name             TEXT NOT NULL,
    url              TEXT NOT NULL,
    interval_seconds INTEGER NOT NULL DEFAULT 300,
    timeout_seconds  INTEGER NOT NULL DEFAULT 30,
    expected_status  INTEGER NOT NULL DEFAULT 0,
    must_contain     TEXT NOT NULL DEFAULT '',
    must_not_contain TEXT NOT NULL DEFAULT '',
    page_budget      INTEGER NOT NULL DEFAULT 10,
    render_js        BOOLEAN NOT NULL DEFAULT FALSE,
    allow_private    BOOLEAN NOT NULL DEFAULT FALSE,
    enabled          BOOLEAN NOT NULL DEFAULT TRUE,
    state            TEXT NOT NULL DEFAULT 'unknown',
    state_since      TIMESTAMP,
    last_checked_at  TIMESTAMP,
    last_status      INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    last_duration_ms INTEGER NOT NULL DEFAULT 0,
    created_by       TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    UNIQUE (agency_id, url)
);
CREATE INDEX monitors_agency ON monitors(agency_path);

-- One row per monitor per day (Asia/Ho_Chi_Minh): checks, failures and a
-- response-time histogram, enough for uptime and percentiles without
-- keeping every check.
CREATE TABLE monitor_days (
    monitor_id BIGINT NOT NULL REFERENCES monitors(id) ON DELETE CASCADE,
    day        TEXT NOT NULL,
    checks     INTEGER NOT NULL DEFAULT 0,
    failures   INTEGER NOT NULL DEFAULT 0,
    histogram  TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (monitor_id, day)
);
