//! The contract suite every store, event-bus and log-in throttle adapter runs.
//!
//! Each rule a port promises in its doc comment (`chat_domain::ports`) is one public check here:
//! a function that takes a fresh adapter and panics when the adapter breaks the rule. An adapter
//! crate proves itself with one line per port, in an integration test:
//!
//! ```
//! use chat_memory::{InProcessBus, MemoryStore};
//!
//! chat_contract::store_contract_tests!(|| std::sync::Arc::new(MemoryStore::new()));
//! chat_contract::bus_contract_tests!(|| async {
//!     let bus = InProcessBus::default();
//!     (bus.clone(), bus)
//! });
//! chat_contract::throttle_contract_tests!(|policy| {
//!     let throttle = std::sync::Arc::new(chat_memory::InProcessThrottle::new(policy, 1_000));
//!     (throttle.clone(), throttle)
//! });
//! # fn main() {}
//! ```
//!
//! The store factory is called once per test and must return an isolated, empty store (an
//! `Arc<S>`, an `Arc<dyn Store>`, or a `(store, guard)` pair whose guard lives as long as the
//! test, e.g. a temporary directory). The bus factory is an async closure returning two buses on
//! one backend (instance A and instance B), optionally with a guard as a third element. The
//! throttle factory takes a `ThrottlePolicy` and returns two throttles (`Arc`s) on one fresh
//! backend, optionally with a guard (see [`ThrottleFixture`]).
//!
//! This crate is test code: its checks assert, unwrap and panic by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod blobs;
pub mod bus;
pub mod fixtures;
pub mod presence;
pub mod redis_cluster;
pub mod store;
pub mod throttle;

use std::sync::Arc;

use chat_domain::ports::{EventBus, LoginThrottle, Store};

/// Anything a store factory may return: the store, shared, possibly with a guard to keep alive.
pub trait StoreFixture {
    /// The store under test.
    fn store(&self) -> Arc<dyn Store>;
    /// A second instance on the same data (its own pool, as another server would have); the
    /// same store by default (one process).
    fn other_instance(&self) -> Arc<dyn Store> {
        self.store()
    }
}

impl<S: Store + 'static> StoreFixture for Arc<S> {
    fn store(&self) -> Arc<dyn Store> {
        Arc::clone(self) as Arc<dyn Store>
    }
}

impl StoreFixture for Arc<dyn Store> {
    fn store(&self) -> Arc<dyn Store> {
        Arc::clone(self)
    }
}

impl<F: StoreFixture, G> StoreFixture for (F, G) {
    fn store(&self) -> Arc<dyn Store> {
        self.0.store()
    }
    fn other_instance(&self) -> Arc<dyn Store> {
        self.0.other_instance()
    }
}

/// Two stores on the same data (two pools: two instances), with a guard.
pub struct TwoInstances<G> {
    /// Instance A.
    pub a: Arc<dyn Store>,
    /// Instance B.
    pub b: Arc<dyn Store>,
    /// What must outlive the test.
    pub guard: G,
}

impl<G> StoreFixture for TwoInstances<G> {
    fn store(&self) -> Arc<dyn Store> {
        Arc::clone(&self.a)
    }
    fn other_instance(&self) -> Arc<dyn Store> {
        Arc::clone(&self.b)
    }
}

/// Anything a bus factory may return: two buses on one backend, possibly with a guard.
pub trait BusFixture {
    /// What must outlive the test (a temporary directory, a server handle); `()` if nothing.
    type Guard;
    /// Instance A, instance B and the guard.
    fn into_parts(self) -> (Arc<dyn EventBus>, Arc<dyn EventBus>, Self::Guard);
}

impl<A: EventBus + 'static, B: EventBus + 'static> BusFixture for (A, B) {
    type Guard = ();
    fn into_parts(self) -> (Arc<dyn EventBus>, Arc<dyn EventBus>, ()) {
        (Arc::new(self.0), Arc::new(self.1), ())
    }
}

impl<A: EventBus + 'static, B: EventBus + 'static, G> BusFixture for (A, B, G) {
    type Guard = G;
    fn into_parts(self) -> (Arc<dyn EventBus>, Arc<dyn EventBus>, G) {
        (Arc::new(self.0), Arc::new(self.1), self.2)
    }
}

/// Runs an async check on a fresh multi-threaded runtime (so adapter crates need no tokio
/// macros of their own).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("a tokio runtime for the bus contract")
        .block_on(future)
}

/// Expands to one `#[test]` per store contract check, each on a fresh store from `$factory`
/// (a closure or function with no arguments; see [`StoreFixture`] for what it may return).
#[macro_export]
macro_rules! store_contract_tests {
    ($factory:expr) => {
        $crate::__store_contract_tests!(
            $factory;
            // users
            usernames_are_unique,
            usernames_are_unique_even_after_deletion,
            usernames_are_unique_without_regard_to_case,
            a_refused_user_is_not_stored,
            users_are_found_by_id_and_by_exact_username,
            soft_delete_keeps_the_user_and_answers_false_the_second_time,
            count_active_with_role_excludes_deleted_users_and_other_roles,
            usernames_maps_known_ids_and_leaves_unknown_ones_out,
            search_clients_finds_active_clients_prefix_matches_first,
            search_clients_treats_like_wildcards_as_plain_characters,
            // sessions
            a_session_finds_its_user_until_it_expires,
            a_session_of_a_deleted_user_finds_nobody,
            deleting_a_session_ends_only_that_session,
            deleting_user_sessions_ends_every_session_of_that_user_only,
            // threads
            open_thread_returns_the_one_unresolved_thread_per_client_and_type,
            concurrent_open_thread_from_many_threads_returns_one_thread,
            open_thread_opens_a_new_thread_after_the_old_one_is_resolved,
            user_with_open_thread_reads_the_user_and_only_its_unresolved_thread_of_that_type,
            threads_of_client_lists_only_that_client_newest_activity_first,
            set_status_resolving_clears_claim_and_waiting,
            set_status_on_an_unknown_thread_is_not_found,
            a_client_never_has_two_unresolved_threads_of_one_type,
            // messages
            messages_are_numbered_1_2_3_per_thread,
            a_system_message_is_read_back_as_one_and_seen_by_the_client,
            concurrent_appends_number_messages_1_to_n_with_nothing_lost,
            the_patch_sees_the_thread_with_the_new_last_seq,
            a_failing_patch_stores_nothing,
            append_writes_the_patch_back,
            append_reports_whether_the_status_changed,
            a_patch_without_a_rank_key_keeps_the_stored_one,
            an_agent_reply_patch_marks_the_clients_messages_read,
            concurrent_agent_replies_mark_each_threads_client_messages_read,
            a_repeated_client_message_id_returns_the_earlier_message,
            another_sender_may_reuse_a_client_message_id,
            concurrent_retries_with_one_client_message_id_store_one_message,
            append_to_an_unknown_thread_is_not_found,
            a_send_on_a_remembered_password_needs_the_same_hash_and_a_live_sender,
            messages_after_pages_in_sequence_order,
            mark_read_marks_only_the_other_sides_messages_up_to_seq,
            mark_read_on_an_unknown_thread_changes_nothing,
            conversation_between_lists_the_threads_the_agent_wrote_in,
            count_sent_by_counts_a_users_messages,
            // notes
            notes_share_the_sequence_and_only_staff_read_them,
            messages_are_stored_as_messages,
            a_clients_search_never_finds_a_note,
            conversation_between_leaves_notes_out,
            mark_read_and_unread_counts_leave_notes_alone,
            a_note_leaves_the_thread_waiting_and_resolved_threads_resolved,
            append_reports_a_reopened_thread,
            idle_pending_threads_lists_pending_threads_idle_the_longest_first,
            // SLA clocks and reports
            sla_clocks_run_once_and_breach_once,
            an_append_makes_its_sla_changes_once,
            reports_give_exact_figures,
            reports_group_by_label,
            reports_over_any_range_equal_the_facts_counted_raw,
            reports_above_the_exact_limit_use_buckets_within_the_bound,
            // staff's lists
            threads_page_filters_by_assignee_status_and_client,
            threads_page_continues_after_a_cursor,
            threads_page_filters_by_type_label_waiting_time_and_text,
            paging_never_repeats_or_misses_while_new_threads_arrive,
            unread_client_messages_counts_per_thread,
            // claims
            a_free_thread_is_won,
            a_held_claim_is_reported_and_changes_nothing,
            the_holder_renews_by_claiming_again,
            a_lease_ends_at_its_until,
            claiming_an_unknown_thread_is_not_found,
            a_resolved_thread_cannot_be_claimed,
            renew_claim_moves_only_the_holders_live_claim,
            only_the_holder_releases_a_claim,
            force_claim_returns_the_previous_live_claim,
            expire_claims_returns_each_expired_claim_once,
            concurrent_expire_claims_return_each_claim_exactly_once,
            fifty_agents_racing_for_one_thread_exactly_one_wins,
            // queue
            queue_lists_only_unresolved_waiting_unclaimed_threads,
            an_expired_claim_puts_the_thread_back_in_the_queue,
            queue_orders_by_rank_then_waiting_longest_then_id,
            queue_pages_with_limit_and_offset,
            queue_len_counts_every_page,
            set_urgency_overwrites_urgency_and_rank,
            set_urgencies_and_threads_by_ids_work_on_many_threads,
            waiting_threads_lists_threads_with_a_client_waiting,
            first_waiting_messages_are_each_threads_first_client_message_since,
            first_waiting_messages_answers_for_many_threads_at_once,
            latest_waiting_messages_are_each_threads_newest_client_message_since,
            latest_waiting_messages_answers_for_many_threads_at_once,
            // search
            search_finds_messages_containing_every_term,
            search_ranks_a_denser_match_first,
            search_in_a_client_scope_never_returns_another_clients_messages,
            search_respects_the_limit,
            // canned replies
            canned_replies_are_stored_listed_by_title_and_deleted,
            // labels
            labels_are_unique_ignoring_case_and_listed_by_name,
            thread_labels_are_added_once_removed_and_read_for_many_threads,
            // ratings
            a_rating_is_stored_once_per_resolution,
            concurrent_ratings_of_one_resolution_store_one,
            // attachments
            attachments_are_stored_and_read_back,
            an_append_ties_attachments_once_in_their_thread_by_their_uploader,
            concurrent_appends_naming_one_attachment_tie_it_once,
            unattached_uploads_are_listed_by_age_and_removed_only_while_unattached,
            // text
            accepted_text_is_stored_and_read_back_exactly,
            usernames_of_any_script_are_kept_and_found,
            search_answers_any_query_the_domain_accepts,
            refused_text_never_reaches_a_store,
            // routing
            availability_and_capacity_are_stored_for_staff_only,
            the_routing_mode_is_stored,
            assignment_follows_the_queue_and_the_least_loaded_agent,
            ties_go_to_the_oldest_last_assignment,
            transfer_moves_the_claim_under_the_same_rules,
            renewal_and_release_of_offline_agents,
            // webhooks and the outbox
            the_outbox_records_each_change_for_subscribed_endpoints,
            a_sweep_records_each_breach_for_subscribed_endpoints,
            leases_retries_and_failures,
            replay_requeues_the_same_event_ids_and_delete_removes,
        );
        $crate::__store_pair_contract_tests!(
            $factory;
            concurrent_assignment_on_two_instances_never_overruns_or_double_assigns,
            concurrent_workers_on_two_instances_lease_each_delivery_once,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __store_pair_contract_tests {
    ($factory:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                let fixture = ($factory)();
                $crate::store::$check(
                    $crate::StoreFixture::store(&fixture),
                    $crate::StoreFixture::other_instance(&fixture),
                );
            }
        )*
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __store_contract_tests {
    ($factory:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                let fixture = ($factory)();
                $crate::store::$check($crate::StoreFixture::store(&fixture));
            }
        )*
    };
}

/// Expands to one `#[test]` per event-bus contract check, each on a fresh pair of buses from
/// `$factory` (an async closure or async fn with no arguments; see [`BusFixture`]), run on a
/// multi-threaded tokio runtime.
#[macro_export]
macro_rules! bus_contract_tests {
    ($factory:expr) => {
        $crate::__bus_contract_tests!(
            $factory;
            an_event_reaches_subscribers_on_both_instances,
            only_subscribers_of_an_events_topics_receive_it,
            a_subscriber_of_several_topics_gets_an_event_once,
            events_arrive_in_publication_order,
            a_dropped_subscription_receives_nothing_and_disturbs_nothing,
            a_slow_subscriber_never_blocks_publish_and_sees_a_gap,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __bus_contract_tests {
    ($factory:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                $crate::block_on(async {
                    let (a, b, _guard) = $crate::BusFixture::into_parts(($factory)().await);
                    $crate::bus::$check(a, b).await;
                });
            }
        )*
    };
}

/// Anything a throttle factory may return: two throttles on one backend (instance A and
/// instance B; in-process, one throttle twice), possibly with a guard.
pub trait ThrottleFixture {
    /// Instance A, instance B and the guard, boxed.
    fn into_pair(self) -> throttle::ThrottlePair;
}

impl<A: LoginThrottle + 'static, B: LoginThrottle + 'static> ThrottleFixture for (Arc<A>, Arc<B>) {
    fn into_pair(self) -> throttle::ThrottlePair {
        (self.0, self.1, Box::new(()))
    }
}

impl<A: LoginThrottle + 'static, B: LoginThrottle + 'static, G: 'static> ThrottleFixture
    for (Arc<A>, Arc<B>, G)
{
    fn into_pair(self) -> throttle::ThrottlePair {
        (self.0, self.1, Box::new(self.2))
    }
}

/// Expands to one `#[test]` per log-in throttle contract check. `$factory` is a closure or
/// function taking a `ThrottlePolicy` and returning a [`ThrottleFixture`] on a fresh backend;
/// a check may call it more than once.
#[macro_export]
macro_rules! throttle_contract_tests {
    ($factory:expr) => {
        $crate::__throttle_contract_tests!(
            $factory;
            a_key_is_locked_at_its_limit_and_not_before,
            the_refusal_tells_the_seconds_left_and_the_lock_ends_at_its_end,
            counting_starts_over_after_a_lockout,
            failures_while_locked_do_not_extend_the_lockout,
            failures_outside_the_window_start_over,
            check_refuses_while_any_key_is_locked_and_counts_nothing,
            success_forgets_the_username_but_not_the_address,
            keys_are_distinct,
            a_username_locked_from_one_address_is_open_from_another,
            failures_on_one_instance_count_on_the_other,
            concurrent_failures_are_all_counted,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __throttle_contract_tests {
    ($factory:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                $crate::throttle::$check(&|policy| {
                    $crate::ThrottleFixture::into_pair(($factory)(policy))
                });
            }
        )*
    };
}

/// Expands to one `#[test]` per presence contract check. `$factory` is a closure or function
/// with no arguments returning two presence adapters on one fresh backend and a guard
/// ([`presence::PresencePair`]).
#[macro_export]
macro_rules! presence_contract_tests {
    ($factory:expr) => {
        $crate::__presence_contract_tests!(
            $factory;
            a_beat_makes_users_present_until_its_end,
            beats_replace_per_instance_and_instances_add_up,
            leaving_removes_only_that_instance,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __presence_contract_tests {
    ($factory:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                $crate::presence::$check(($factory)());
            }
        )*
    };
}
