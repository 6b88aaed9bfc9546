//! A desk over a fresh database per test, on a virtual clock.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use collections::debtor::{
    Channel, ConsentGrant, ConsentMethod, ContactOwner, ContactPoint, DebtorChange, DebtorKind,
    Jurisdiction, LanguageTag, Phone,
};
use sea_orm::DatabaseConnection;
use services::access::{Principal, Role};
use services::clock::VirtualClock;
use services::desk::Desk;
use services::runtime::{Runtime, RuntimeConfig};

pub const TENANT: &str = "acme";

pub fn principal(role: Role) -> Principal {
    Principal::new(role.as_str(), TENANT, role, None, Vec::new()).expect("a principal")
}

pub async fn desk(db: &DatabaseConnection) -> (Desk, Arc<VirtualClock>) {
    orm::migrate(db).await.expect("migrate");
    let clock = Arc::new(VirtualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 13, 0, 0).unwrap(),
    ));
    let runtime = Runtime::start(db.clone(), clock.clone(), RuntimeConfig::default());
    (Desk::new(runtime), clock)
}

/// Registers debtor `id` with a Colombian mobile and the given language.
pub async fn register_debtor(desk: &Desk, id: &str, name: &str, language: &str) {
    desk.register_debtor(
        &principal(Role::Agent),
        id,
        vec![
            DebtorChange::Registered {
                kind: DebtorKind::Person,
                name: name.into(),
                jurisdiction: Jurisdiction::new("CO", None).unwrap(),
            },
            DebtorChange::LanguageSet {
                language: Some(LanguageTag::parse(language).unwrap()),
            },
            DebtorChange::ContactAdded {
                owner: ContactOwner::Debtor,
                point: ContactPoint::Phone(Phone::parse("+57 310 1234567", None).unwrap()),
                // Ley 2300: only the channels the debtor authorised.
                consents: [Channel::Sms, Channel::WhatsApp, Channel::Call]
                    .into_iter()
                    .map(|channel| ConsentGrant {
                        channel,
                        given_at: Utc.with_ymd_and_hms(2025, 1, 10, 15, 0, 0).unwrap(),
                        how: ConsentMethod::Written,
                        given_by: name.into(),
                    })
                    .collect(),
            },
        ],
        None,
    )
    .await
    .expect("register the debtor");
}

/// [`orm::on_both`] on actix::test's runtime (the job dispatcher runs on actix).
macro_rules! on_both {
    ($($scenario:tt)*) => {
        orm::on_both!(#[actix::test] $($scenario)*);
    };
}
pub(crate) use on_both;
