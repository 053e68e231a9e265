-- The desk's own changes to a card (and GitHub's confirmations of them) raise the card's revision from one
-- counter (meta roadmap.local_rev). A board read that began before a card's revision is older than what the
-- desk knows about that card, so the sync leaves the card as it is.
ALTER TABLE roadmap_items ADD COLUMN local_rev INTEGER NOT NULL DEFAULT 0;
