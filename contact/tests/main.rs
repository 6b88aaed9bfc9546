//! The contact crate's one integration-test binary: the letter channel against a real
//! document service (local store in a temporary directory) on SQLite and PostgreSQL,
//! and the dialer export.

mod dialer;
mod letters;
mod pdf_check;

/// [`orm::on_both`] on actix's runtime (the case actors need it).
macro_rules! on_both {
    ($($scenario:tt)*) => {
        orm::on_both!(#[actix::test] $($scenario)*);
    };
}

on_both!(
    letter_is_filed_and_batched_once,
    crate::letters::filed_and_batched_once
);
on_both!(
    generated_documents_race_once,
    crate::letters::generated_twins
);
