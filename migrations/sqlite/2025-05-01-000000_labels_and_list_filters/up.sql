-- Labels admins define and staff put on threads. A name is unique without regard to the case of
-- ASCII letters: the domain stores that folded form (name_folded), so every store agrees.
CREATE TABLE labels (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    name_folded TEXT NOT NULL UNIQUE,
    color       TEXT NOT NULL
);

CREATE TABLE thread_labels (
    thread_id BIGINT NOT NULL REFERENCES threads (id),
    label_id  BIGINT NOT NULL REFERENCES labels (id),
    PRIMARY KEY (thread_id, label_id)
);
-- The staff list filtered by label.
CREATE INDEX thread_labels_by_label ON thread_labels (label_id, thread_id);

-- Staff's lists filtered by status and/or type, newest activity first.
CREATE INDEX threads_status_type_activity
    ON threads (status, thread_type, last_activity_at_ms DESC, id DESC);
CREATE INDEX threads_type_activity ON threads (thread_type, last_activity_at_ms DESC, id DESC);
-- Staff's lists by status alone, and the auto-resolve sweep (pending threads idle the longest).
CREATE INDEX threads_status_activity ON threads (status, last_activity_at_ms);
