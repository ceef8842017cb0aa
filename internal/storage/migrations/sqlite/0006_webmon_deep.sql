-- Deep checks: the DNS answers a monitor's host is compared with, the
-- sitemap last seen (to report new doorway pages), and the key of the
-- evidence snapshot the page baseline was learned from.
ALTER TABLE monitors ADD COLUMN dns_baseline TEXT NOT NULL DEFAULT '';
ALTER TABLE monitors ADD COLUMN sitemap TEXT NOT NULL DEFAULT '';
ALTER TABLE monitors ADD COLUMN deep_checked_at TIMESTAMP;

-- Evidence: what a page looked like when it was judged. The HTML and any
-- screenshot live in the content-addressed evidence store under their
-- sha256 keys; rows older than the retention are pruned, and objects no
-- row refers to with them.
CREATE TABLE monitor_snapshots (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    monitor_id     BIGINT NOT NULL REFERENCES monitors(id) ON DELETE CASCADE,
    agency_path    TEXT NOT NULL,
    taken_at       TIMESTAMP NOT NULL,
    kind           TEXT NOT NULL,
    url            TEXT NOT NULL,
    verdict        TEXT NOT NULL DEFAULT '',
    score          REAL NOT NULL DEFAULT 0,
    reasons        TEXT NOT NULL DEFAULT '[]',
    html_key       TEXT NOT NULL DEFAULT '',
    screenshot_key TEXT NOT NULL DEFAULT ''
);
CREATE INDEX monitor_snapshots_monitor ON monitor_snapshots(monitor_id, taken_at);
