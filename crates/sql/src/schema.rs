//! The tables, written by hand to match `migrations/postgres` and `migrations/sqlite` (same shape
//! on both backends). Times are unix milliseconds in `BigInt` columns named `*_ms`.

diesel::table! {
    /// Users; soft-deleted ones keep their row (and their username).
    users (id) {
        id -> BigInt,
        username -> Text,
        password_hash -> Text,
        role -> Text,
        created_at_ms -> BigInt,
        deleted_at_ms -> Nullable<BigInt>,
        availability -> Text,
        capacity -> Nullable<BigInt>,
        last_assigned_at_ms -> Nullable<BigInt>,
        availability_changed_at_ms -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Log-in sessions, keyed by the SHA-256 of their bearer token.
    sessions (token_hash) {
        token_hash -> Text,
        user_id -> BigInt,
        created_at_ms -> BigInt,
        expires_at_ms -> BigInt,
    }
}

diesel::table! {
    /// Threads, with their claim, sequence counter and queue rank.
    threads (id) {
        id -> BigInt,
        client_id -> BigInt,
        thread_type -> SmallInt,
        status -> Text,
        claim_agent_id -> Nullable<BigInt>,
        claim_until_ms -> Nullable<BigInt>,
        agent_id -> Nullable<BigInt>,
        created_at_ms -> BigInt,
        last_activity_at_ms -> BigInt,
        last_seq -> BigInt,
        waiting_since_ms -> Nullable<BigInt>,
        urgency_score -> BigInt,
        /// JSON list of strings.
        urgency_reasons -> Text,
        rank_key -> BigInt,
        /// How many times it became resolved (ratings are once per resolution).
        resolutions -> BigInt,
    }
}

diesel::table! {
    /// Messages and notes; `(thread_id, seq)` and `(sender_id, client_message_id)` are unique.
    messages (id) {
        id -> BigInt,
        thread_id -> BigInt,
        seq -> BigInt,
        sender_id -> BigInt,
        sender_role -> Text,
        body -> Text,
        created_at_ms -> BigInt,
        is_read -> Bool,
        client_message_id -> Nullable<Text>,
        /// `message` or `note` (staff only).
        kind -> Text,
        /// Written by the desk itself (the auto-resolve notice), not by a person.
        is_system -> Bool,
    }
}

diesel::table! {
    /// Canned replies.
    canned_replies (id) {
        id -> BigInt,
        title -> Text,
        body -> Text,
        created_by -> BigInt,
        created_at_ms -> BigInt,
    }
}

diesel::table! {
    /// The routing mode (one row, id 1, once an admin set it).
    routing_settings (id) {
        id -> BigInt,
        mode -> Nullable<Text>,
    }
}

diesel::table! {
    /// Labels; `name_folded` (the name with ASCII letters lowercased) is unique.
    labels (id) {
        id -> BigInt,
        name -> Text,
        name_folded -> Text,
        color -> Text,
    }
}

diesel::table! {
    /// Which thread carries which label.
    thread_labels (thread_id, label_id) {
        thread_id -> BigInt,
        label_id -> BigInt,
    }
}

diesel::table! {
    /// Clients' ratings; `(thread_id, resolution_seq)` is unique.
    ratings (id) {
        id -> BigInt,
        thread_id -> BigInt,
        client_id -> BigInt,
        agent_id -> Nullable<BigInt>,
        score -> Integer,
        comment -> Nullable<Text>,
        resolution_seq -> BigInt,
        created_at_ms -> BigInt,
    }
}

diesel::table! {
    /// SLA clocks (`chat_domain::sla`); at most one running per (thread, track).
    sla_clocks (id) {
        id -> BigInt,
        thread_id -> BigInt,
        thread_type -> SmallInt,
        kind -> Text,
        track -> Text,
        started_at_ms -> BigInt,
        target_seconds -> Nullable<BigInt>,
        due_at_ms -> Nullable<BigInt>,
        at_risk_at_ms -> Nullable<BigInt>,
        warned_at_ms -> Nullable<BigInt>,
        breached_at_ms -> Nullable<BigInt>,
        ended_at_ms -> Nullable<BigInt>,
        agent_id -> Nullable<BigInt>,
        seconds -> Nullable<BigInt>,
        met -> Nullable<Bool>,
    }
}

diesel::table! {
    /// Files attached to messages (their bytes are in the blob store); `message_id` is set
    /// once, by the append that names them.
    attachments (id) {
        id -> Text,
        thread_id -> BigInt,
        uploader_id -> BigInt,
        content_type -> Text,
        size -> BigInt,
        name -> Text,
        created_at_ms -> BigInt,
        message_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Per thread, how far staff have read its client's messages: those with `seq <= up_to_seq`
    /// are read (a thread without a row: none).
    client_reads (thread_id) {
        thread_id -> BigInt,
        up_to_seq -> BigInt,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(thread_labels -> labels (label_id));
diesel::joinable!(thread_labels -> threads (thread_id));
diesel::joinable!(threads -> users (client_id));
diesel::joinable!(messages -> threads (thread_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    sessions,
    threads,
    messages,
    canned_replies,
    routing_settings,
    labels,
    thread_labels,
    ratings,
    sla_clocks,
    attachments,
    client_reads
);
