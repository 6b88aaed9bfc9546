//! The scenarios run on a fresh database each, on actix's runtime (the case actors need it).

/// [`orm::on_both`] on actix's runtime.
macro_rules! on_both {
    ($($scenario:tt)*) => {
        orm::on_both!(#[actix::test] $($scenario)*);
    };
}
pub(crate) use on_both;
