//! Per-test databases come from `orm::testing`; this adds the macro the suites use.

pub use orm::testing::TestDb;

pub(crate) use orm::on_both;
