-- Alerts get a search column holding the title folded for search
-- (lower case, no diacritics: "dak lak" finds "ĐẮK LẮK"), written by
-- canhgac. Rows from before it get a plain lower-cased title.
ALTER TABLE alerts ADD COLUMN search TEXT NOT NULL DEFAULT '';
UPDATE alerts SET search = LOWER(title);
