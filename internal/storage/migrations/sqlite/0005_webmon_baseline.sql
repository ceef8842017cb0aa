-- A monitor's learned page baseline (JSON, see internal/webmon/page) and
-- the content verdict of its last analysed fetch.
ALTER TABLE monitors ADD COLUMN baseline TEXT NOT NULL DEFAULT '';
ALTER TABLE monitors ADD COLUMN content_state TEXT NOT NULL DEFAULT '';
