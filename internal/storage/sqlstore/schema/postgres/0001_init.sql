-- Metadata records with a version for compare-and-set. Text columns that
-- are listed in order use the "C" collation: byte order, like SQLite.
CREATE TABLE meta (
    ns      TEXT COLLATE "C" NOT NULL,
    key     TEXT COLLATE "C" NOT NULL,
    value   BYTEA  NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (ns, key)
);

-- Queue messages (pgmq model); see the SQLite schema for the columns.
CREATE TABLE q_msg (
    seq               BIGSERIAL PRIMARY KEY,
    queue             TEXT COLLATE "C" NOT NULL,
    id                TEXT   NOT NULL,
    body              BYTEA  NOT NULL,
    attrs             BYTEA  NOT NULL,
    group_id          TEXT   NOT NULL,
    dedup_id          TEXT   NOT NULL,
    sent_at           BIGINT NOT NULL,
    visible_at        BIGINT NOT NULL,
    receive_count     INTEGER NOT NULL,
    first_received_at BIGINT NOT NULL,
    receipt           TEXT   NOT NULL
);
CREATE INDEX q_msg_ready ON q_msg (queue, visible_at, seq);
CREATE INDEX q_msg_order ON q_msg (queue, seq);
CREATE INDEX q_msg_group ON q_msg (queue, group_id, visible_at);

CREATE TABLE q_dedup (
    queue      TEXT COLLATE "C" NOT NULL,
    dedup_id   TEXT   NOT NULL,
    expires_at BIGINT NOT NULL,
    msg_id     TEXT   NOT NULL,
    seq        BIGINT NOT NULL,
    PRIMARY KEY (queue, dedup_id)
);
CREATE INDEX q_dedup_expiry ON q_dedup (expires_at);

CREATE TABLE log_stream (
    stream   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    last_seq BIGINT NOT NULL
);

CREATE TABLE log_rec (
    stream TEXT COLLATE "C" NOT NULL,
    seq    BIGINT NOT NULL,
    time   BIGINT NOT NULL,
    data   BYTEA  NOT NULL,
    PRIMARY KEY (stream, seq)
);
CREATE INDEX log_rec_time ON log_rec (stream, time, seq);

-- Blob contents (kept in the database in scale-out mode for now).
CREATE TABLE blob_data (
    key  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    size BIGINT NOT NULL,
    data BYTEA  NOT NULL
);
