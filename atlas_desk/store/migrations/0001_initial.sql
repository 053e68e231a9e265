-- Atlas Desk store, schema version 1.
-- Times are UTC ISO-8601 strings ('2026-11-24T13:50:00+00:00') unless the column name ends in _ts (unix seconds, REAL).
-- JSON columns hold objects serialised with json.dumps.

CREATE TABLE people (
    id            INTEGER PRIMARY KEY,
    display_name  TEXT NOT NULL,
    note          TEXT NOT NULL DEFAULT '',
    blocked       INTEGER NOT NULL DEFAULT 0,       -- blocked from opening tickets
    created_at    TEXT NOT NULL
);

CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    person_id     INTEGER NOT NULL REFERENCES people(id),
    platform      TEXT NOT NULL,                    -- 'discord' | 'github' | 'reddit'
    platform_id   TEXT NOT NULL,
    handle        TEXT NOT NULL,
    display_name  TEXT NOT NULL DEFAULT '',
    created_at    TEXT,                             -- account creation on the platform
    UNIQUE (platform, platform_id)
);
CREATE INDEX accounts_person ON accounts(person_id);

CREATE TABLE inbox_items (
    id            INTEGER PRIMARY KEY,              -- assigned in arrival order
    platform      TEXT NOT NULL,
    platform_id   TEXT NOT NULL,
    kind          TEXT NOT NULL,
    container     TEXT NOT NULL,
    container_id  TEXT NOT NULL DEFAULT '',
    parent_id     TEXT NOT NULL DEFAULT '',
    account_id    INTEGER REFERENCES accounts(id),
    title         TEXT NOT NULL DEFAULT '',
    body          TEXT NOT NULL DEFAULT '',
    url           TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL,
    created_ts    REAL NOT NULL,                    -- sort key: newest first
    edited_at     TEXT,
    deleted       INTEGER NOT NULL DEFAULT 0,
    score         INTEGER NOT NULL DEFAULT 0,
    reported      INTEGER NOT NULL DEFAULT 0,
    is_suggestion INTEGER NOT NULL DEFAULT 0,
    extra         TEXT NOT NULL DEFAULT '{}',
    -- the moderator's own state
    read          INTEGER NOT NULL DEFAULT 0,
    starred       INTEGER NOT NULL DEFAULT 0,
    UNIQUE (platform, platform_id)
);
CREATE INDEX inbox_newest ON inbox_items(created_ts DESC, id DESC);
CREATE INDEX inbox_parent ON inbox_items(platform, parent_id);
CREATE INDEX inbox_container ON inbox_items(platform, container_id, created_ts);

-- Full-text search over title and body. External content: the text lives once, in inbox_items;
-- the triggers keep the index in step (SQLite 3.40 has no contentless_delete).
CREATE VIRTUAL TABLE inbox_fts USING fts5(
    title, body, content='inbox_items', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER inbox_fts_ai AFTER INSERT ON inbox_items BEGIN
    INSERT INTO inbox_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
END;
CREATE TRIGGER inbox_fts_ad AFTER DELETE ON inbox_items BEGIN
    INSERT INTO inbox_fts(inbox_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
END;
CREATE TRIGGER inbox_fts_au AFTER UPDATE OF title, body ON inbox_items BEGIN
    INSERT INTO inbox_fts(inbox_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);
    INSERT INTO inbox_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
END;

CREATE TABLE tickets (
    id               INTEGER PRIMARY KEY,
    platform         TEXT NOT NULL,                 -- 'discord' (forum thread) | 'reddit' (modmail)
    platform_id      TEXT NOT NULL,                 -- thread id / conversation id
    subject          TEXT NOT NULL,
    requester_id     INTEGER REFERENCES accounts(id),
    assignee         TEXT NOT NULL DEFAULT '',      -- moderator handle
    status           TEXT NOT NULL DEFAULT 'new',   -- new | open | pending | resolved | closed
    priority         TEXT NOT NULL DEFAULT 'normal',-- low | normal | high | urgent
    tags             TEXT NOT NULL DEFAULT '[]',
    opened_at        TEXT NOT NULL,
    first_reply_at   TEXT,
    last_activity_at TEXT NOT NULL,
    snoozed_until    TEXT,
    closed_at        TEXT,
    close_reason     TEXT NOT NULL DEFAULT '',
    extra            TEXT NOT NULL DEFAULT '{}',
    UNIQUE (platform, platform_id)
);
CREATE INDEX tickets_status ON tickets(status, opened_at);

CREATE TABLE ticket_messages (
    id            INTEGER PRIMARY KEY,
    ticket_id     INTEGER NOT NULL REFERENCES tickets(id),
    platform_id   TEXT NOT NULL DEFAULT '',
    author_id     INTEGER REFERENCES accounts(id),
    role          TEXT NOT NULL,                    -- member | moderator | note | system
    body          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    attachments   TEXT NOT NULL DEFAULT '[]',
    pending       INTEGER NOT NULL DEFAULT 0        -- optimistic, not yet confirmed by the platform
);
CREATE INDEX ticket_messages_ticket ON ticket_messages(ticket_id, created_at);

CREATE TABLE roadmap_items (
    id            INTEGER PRIMARY KEY,
    platform_id   TEXT NOT NULL UNIQUE,             -- ProjectV2Item node id
    content_id    TEXT NOT NULL DEFAULT '',         -- Issue / DraftIssue node id
    number        INTEGER,
    title         TEXT NOT NULL,
    body          TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL DEFAULT '',         -- Status option name (the column)
    position      REAL NOT NULL DEFAULT 0,          -- order within the column
    labels        TEXT NOT NULL DEFAULT '[]',
    assignees     TEXT NOT NULL DEFAULT '[]',
    target_month  TEXT NOT NULL DEFAULT '',
    votes         TEXT NOT NULL DEFAULT '{}',       -- per platform, e.g. {"github": 12, "discord": 4}
    origin_item   INTEGER REFERENCES inbox_items(id),
    why_note      TEXT NOT NULL DEFAULT '',
    url           TEXT NOT NULL DEFAULT '',
    archived      INTEGER NOT NULL DEFAULT 0,
    pending       INTEGER NOT NULL DEFAULT 0,
    updated_at    TEXT NOT NULL
);

CREATE TABLE community_events (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL,                    -- ama | contest | post
    platform_id   TEXT NOT NULL DEFAULT '',         -- Discord scheduled event id, if any
    title         TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    starts_at     TEXT NOT NULL,
    ends_at       TEXT,
    timezone      TEXT NOT NULL DEFAULT 'UTC',
    recurrence    TEXT NOT NULL DEFAULT '',         -- RRULE text
    location      TEXT NOT NULL DEFAULT '',
    targets       TEXT NOT NULL DEFAULT '[]',       -- for scheduled posts
    status        TEXT NOT NULL DEFAULT 'scheduled',-- scheduled | active | published | completed | canceled | failed
    interested    INTEGER NOT NULL DEFAULT 0,
    reminder_minutes INTEGER NOT NULL DEFAULT 15,
    extra         TEXT NOT NULL DEFAULT '{}',
    updated_at    TEXT NOT NULL
);
CREATE INDEX events_start ON community_events(starts_at);

CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    idempotency_key  TEXT NOT NULL UNIQUE,
    platform         TEXT NOT NULL,
    kind             TEXT NOT NULL,
    target           TEXT NOT NULL,
    payload          TEXT NOT NULL DEFAULT '{}',
    state            TEXT NOT NULL DEFAULT 'pending', -- pending | sending | done | failed
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    last_error       TEXT NOT NULL DEFAULT '',
    result           TEXT NOT NULL DEFAULT '{}',
    undo             TEXT NOT NULL DEFAULT '{}',     -- how to roll back the optimistic change on failure
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);

CREATE TABLE sync_cursors (
    platform      TEXT NOT NULL,
    stream        TEXT NOT NULL,
    cursor        TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (platform, stream)
);

CREATE TABLE metric_samples (
    metric        TEXT NOT NULL,                    -- e.g. 'discord.active_members.daily'
    day           TEXT NOT NULL,                    -- 'YYYY-MM-DD' (UTC)
    dimension     TEXT NOT NULL DEFAULT '',         -- e.g. platform or moderator
    value         REAL NOT NULL,
    PRIMARY KEY (metric, day, dimension)
);

-- Small key/value state kept with the data (for example the last roadmap update's date).
CREATE TABLE meta (
    key           TEXT PRIMARY KEY,
    value         TEXT NOT NULL
);
