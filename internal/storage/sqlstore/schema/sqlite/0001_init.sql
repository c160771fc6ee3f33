-- Metadata records with a version for compare-and-set.
CREATE TABLE meta (
    ns      TEXT    NOT NULL,
    key     TEXT    NOT NULL,
    value   BLOB    NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (ns, key)
) WITHOUT ROWID;

-- Queue messages (pgmq model). seq never repeats (AUTOINCREMENT), so it
-- grows with every send to a queue. receipt is the nonce of the current
-- receipt handle ('' until first received). Times are Unix nanoseconds;
-- first_received_at is 0 until the first receive.
CREATE TABLE q_msg (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    queue             TEXT    NOT NULL,
    id                TEXT    NOT NULL,
    body              BLOB    NOT NULL,
    attrs             BLOB    NOT NULL,
    group_id          TEXT    NOT NULL,
    dedup_id          TEXT    NOT NULL,
    sent_at           INTEGER NOT NULL,
    visible_at        INTEGER NOT NULL,
    receive_count     INTEGER NOT NULL,
    first_received_at INTEGER NOT NULL,
    receipt           TEXT    NOT NULL
);
CREATE INDEX q_msg_ready ON q_msg (queue, visible_at, seq);
CREATE INDEX q_msg_order ON q_msg (queue, seq);
CREATE INDEX q_msg_group ON q_msg (queue, group_id, visible_at);

-- Deduplication ids, live until expires_at.
CREATE TABLE q_dedup (
    queue      TEXT    NOT NULL,
    dedup_id   TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    msg_id     TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    PRIMARY KEY (queue, dedup_id)
) WITHOUT ROWID;
CREATE INDEX q_dedup_expiry ON q_dedup (expires_at);

-- Log streams and their last assigned sequence number.
CREATE TABLE log_stream (
    stream   TEXT    NOT NULL PRIMARY KEY,
    last_seq INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE log_rec (
    stream TEXT    NOT NULL,
    seq    INTEGER NOT NULL,
    time   INTEGER NOT NULL,
    data   BLOB    NOT NULL,
    PRIMARY KEY (stream, seq)
);
CREATE INDEX log_rec_time ON log_rec (stream, time, seq);

-- Index of blob files under dir/blobs: key -> file name (relative).
CREATE TABLE blob_file (
    key  TEXT    NOT NULL PRIMARY KEY,
    file TEXT    NOT NULL,
    size INTEGER NOT NULL
) WITHOUT ROWID;
