-- Roadmap card history: what happened to each card, when and (where known) by whom, for the card detail.
CREATE TABLE roadmap_history (
    id           INTEGER PRIMARY KEY,
    card_id      INTEGER NOT NULL,                 -- roadmap_items.id (entries go with the card)
    at           TEXT NOT NULL,                    -- store time of the change (GitHub's item time for synced changes)
    kind         TEXT NOT NULL,                    -- added | seen | moved | why_note | archived
    from_column  TEXT NOT NULL DEFAULT '',
    to_column    TEXT NOT NULL DEFAULT '',
    detail       TEXT NOT NULL DEFAULT '',         -- the note text, or where an added card came from (plain text)
    actor        TEXT NOT NULL DEFAULT '',         -- the moderator's handle for desk changes; '' when unknown
    source       TEXT NOT NULL DEFAULT 'desk',     -- desk | github
    state        TEXT NOT NULL DEFAULT 'done',     -- pending (on its way to GitHub) | done | failed
    outbox_id    INTEGER                           -- the outbox action that carries a desk change to GitHub
);
CREATE INDEX roadmap_history_card ON roadmap_history(card_id);  -- with the rowid: a card's entries in order
CREATE INDEX roadmap_history_outbox ON roadmap_history(outbox_id) WHERE outbox_id IS NOT NULL;
