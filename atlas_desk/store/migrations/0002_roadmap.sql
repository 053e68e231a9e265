-- Roadmap board: what the Projects v2 sync and the desk's roadmap operations need beyond schema v1.
ALTER TABLE roadmap_items ADD COLUMN item_type TEXT NOT NULL DEFAULT '';          -- ISSUE | DRAFT_ISSUE
ALTER TABLE roadmap_items ADD COLUMN extra TEXT NOT NULL DEFAULT '{}';            -- links to where the idea came from, state
ALTER TABLE roadmap_items ADD COLUMN created_at TEXT NOT NULL DEFAULT '';
ALTER TABLE roadmap_items ADD COLUMN status_changed_at TEXT NOT NULL DEFAULT '';  -- when the card last changed column
CREATE INDEX roadmap_column ON roadmap_items(archived, status, position);
