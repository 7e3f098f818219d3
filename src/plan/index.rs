//! Lookups over the destination's objects for one plan: by GUID, and by address both ways.
//!
//! The address maps are built on first use: a plan without changes never needs them.

use std::collections::HashMap;
use std::sync::OnceLock;

use uuid::Uuid;

use crate::store::StoredObject;

/// Every destination object's address by GUID, filled on first use. It lives outside [`Index`]
/// (a local of the plan) because the index's address → object map borrows its strings.
pub(super) type Addresses = OnceLock<HashMap<Uuid, String>>;

/// The destination's objects, looked up.
pub(super) struct Index<'a> {
    objects: &'a [StoredObject],
    by_guid: HashMap<Uuid, &'a StoredObject>,
    addresses: &'a Addresses,
    by_address: OnceLock<HashMap<&'a str, &'a StoredObject>>,
}

impl<'a> Index<'a> {
    /// An index over `objects`, keeping their addresses in `addresses` once they are needed.
    pub(super) fn new(objects: &'a [StoredObject], addresses: &'a Addresses) -> Index<'a> {
        Index {
            objects,
            by_guid: objects.iter().map(|o| (o.guid, o)).collect(),
            addresses,
            by_address: OnceLock::new(),
        }
    }

    /// The object with this GUID.
    pub(super) fn get(&self, guid: &Uuid) -> Option<&'a StoredObject> {
        self.by_guid.get(guid).copied()
    }

    /// Whether the destination has an object with this GUID.
    pub(super) fn contains(&self, guid: &Uuid) -> bool {
        self.by_guid.contains_key(guid)
    }

    /// Every object's address, by GUID.
    pub(super) fn addresses(&self) -> &'a HashMap<Uuid, String> {
        self.addresses
            .get_or_init(|| self.objects.iter().map(|o| (o.guid, o.address())).collect())
    }

    /// The object at this address.
    pub(super) fn at(&self, address: &str) -> Option<&'a StoredObject> {
        self.by_address
            .get_or_init(|| {
                let addresses = self.addresses();
                self.objects
                    .iter()
                    .map(|o| (addresses[&o.guid].as_str(), o))
                    .collect()
            })
            .get(address)
            .copied()
    }
}
