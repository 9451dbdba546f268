//! The contract suites against the domain's reference adapters: `MemoryStore`,
//! `InProcessBus` and `InProcessThrottle`.

use std::sync::Arc;

use chat_memory::{InProcessBus, InProcessThrottle, MemoryStore};

mod store {
    use super::*;

    chat_contract::store_contract_tests!(|| Arc::new(MemoryStore::new()));
}

mod bus {
    use super::*;

    async fn two_instances() -> (InProcessBus, InProcessBus) {
        let bus = InProcessBus::default();
        (bus.clone(), bus)
    }

    chat_contract::bus_contract_tests!(two_instances);

    #[test]
    fn in_process_bus_forgets_dropped_subscriptions() {
        chat_contract::block_on(
            chat_contract::bus::in_process_bus_forgets_dropped_subscriptions(
                InProcessBus::default(),
            ),
        );
    }
}

mod throttle {
    use super::*;

    chat_contract::throttle_contract_tests!(|policy| {
        let throttle = Arc::new(InProcessThrottle::new(policy, 10_000));
        (Arc::clone(&throttle), throttle)
    });
}

mod presence {
    use super::*;

    chat_contract::presence_contract_tests!(|| {
        let presence = Arc::new(chat_memory::InProcessPresence::new());
        let pair: chat_contract::presence::PresencePair =
            (presence.clone(), presence, Box::new(()));
        pair
    });
}

mod blobs {
    #[test]
    fn memory_blobs_keep_the_blob_contract() {
        chat_contract::blobs::blob_store_contract(&chat_memory::MemoryBlobs::new(), "run");
    }
}
