//! SQL conditions written as constant text rather than with bound parameters, so that both
//! planners can match them against partial indexes' predicates (`WHERE status <> 'resolved'`),
//! and still prepared once per connection: diesel never caches a statement holding a
//! `dsl::sql` literal, so every call would be parsed and planned again.

use diesel::backend::Backend;
use diesel::expression::{
    is_aggregate, AppearsOnTable, Expression, SelectableExpression, ValidGrouping,
};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::Bool;
use diesel::QueryResult;

/// Declares a unit type that is the boolean condition `$sql`.
macro_rules! constant_condition {
    ($(#[$doc:meta])* $name:ident = $sql:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, QueryId)]
        pub(crate) struct $name;

        impl Expression for $name {
            type SqlType = Bool;
        }

        impl<QS> AppearsOnTable<QS> for $name {}

        impl<QS> SelectableExpression<QS> for $name {}

        impl<GB> ValidGrouping<GB> for $name {
            type IsAggregate = is_aggregate::Never;
        }

        impl<DB: Backend> QueryFragment<DB> for $name {
            fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
                out.push_sql($sql);
                Ok(())
            }
        }
    };
}

constant_condition!(
    /// The thread is not resolved: matches the partial indexes on open threads.
    NotResolved = "threads.status <> 'resolved'"
);

constant_condition!(
    /// The message is a client's message (not a note): the partial index
    /// `messages_client_seq`'s predicate.
    ClientMessage = "messages.sender_role = 'client' AND messages.kind = 'message'"
);
